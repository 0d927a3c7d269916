export { DatasetFileError } from './dataset-file-error.js';
export { parseCifar10Batch, readCifar10Files, CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE, CIFAR10_RECORDS_PER_FILE } from './cifar10.js';
export { parseSvhnMat, readSvhnFile, SVHN_FILES } from './svhn.js';
export { parseStl10, readStl10Pair, STL10_FILES } from './stl10.js';
export { parseIdxImages, parseIdxLabels, readIdxSet } from './idx.js';
export { parseMat5, matValue, type MatArray } from './mat5.js';
