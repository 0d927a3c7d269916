// rolldown config for bench/build-gpu-bundle.sh: one ES module file for Node.
// The ES build of every package ("module" first): tfjs-core's gradients exist only
// as ES modules, and mixing in its CommonJS build would make two tfjs-cores.
export default {
  input: 'bench/gpu-bundle-entry.ts',
  platform: 'node',
  resolve: { mainFields: ['module', 'main'] },
  output: { file: process.env.GPU_BUNDLE_OUT ?? 'dist/contsup-gpu-check/gpu-bench.mjs', format: 'esm', codeSplitting: false, minify: true },
};
