// The GPU check bundle's entry (bench/build-gpu-bundle.sh). The bundle has no
// node_modules/@tensorflow for ensureGradients' Node path to load from, so the
// gradients are bundled here, before gpu-bench.ts runs.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import './gpu-bench.js';
