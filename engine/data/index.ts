/**
 * Browser-safe surface of the data pipeline (no node: imports). Node-only
 * loading lives in load-dataset.ts, download.ts, tar.ts and readers/.
 */
export type { Dataset, DatasetName, ImageSet, PreprocessSpec } from './dataset.js';
export { DATASET_NAMES, PREPROCESS, gatherBatch, imageSize, preprocessFor, shuffledOrder, subset } from './dataset.js';
export { generateSynthetic, type SyntheticOptions } from './synthetic.js';
export { augmentDraw, augmentImages, normalizeImages, toUnitImages, type AugmentDraw } from './preprocess.js';
export { hashSeed, mulberry32 } from './rng.js';
