/**
 * Where each real data set's files come from and what they must hash to.
 * md5 values are those of the official files (as used by torchvision/TFDS).
 */
import type { DatasetName } from '../../protocol/names.js';
import { CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES } from './readers/cifar10.js';

export type RealDatasetName = Exclude<DatasetName, 'synthetic'>;

export interface RemoteFile {
  /** File name of the download; also its name in the dataset folder. */
  name: string;
  url: string;
  md5: string;
  /** Archives only: member path inside the .tar.gz -> local file name. */
  members?: Record<string, string>;
}

export interface DatasetSource {
  numClasses: number;
  /** Local file names the reader needs, in the dataset folder. */
  files: readonly string[];
  /** Sub-folders also searched, for a tarball unpacked by hand. */
  subdirs: readonly string[];
  remote: readonly RemoteFile[];
  /** System folders searched after `<dataDir>/<name>/`. */
  systemDirs: readonly string[];
}

const MNIST_FILES = [
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  't10k-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz',
] as const;

function idxRemote(base: string, md5s: readonly string[]): RemoteFile[] {
  return MNIST_FILES.map((name, i) => ({ name, url: `${base}${name}`, md5: md5s[i] }));
}

const CIFAR_DIR = 'cifar-10-batches-bin';
const STL_DIR = 'stl10_binary';
const STL_FILES = ['train_X.bin', 'train_y.bin', 'test_X.bin', 'test_y.bin'] as const;

export const DATASET_SOURCES: Record<RealDatasetName, DatasetSource> = {
  cifar10: {
    numClasses: 10,
    files: [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE],
    subdirs: [CIFAR_DIR],
    remote: [
      {
        name: 'cifar-10-binary.tar.gz',
        url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
        md5: 'c32a1d4ab5d03f1284b67883e8d87530',
        members: Object.fromEntries([...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].map((f) => [`${CIFAR_DIR}/${f}`, f])),
      },
    ],
    systemDirs: [],
  },
  svhn: {
    numClasses: 10,
    files: ['train_32x32.mat', 'test_32x32.mat'],
    subdirs: [],
    remote: [
      { name: 'train_32x32.mat', url: 'http://ufldl.stanford.edu/housenumbers/train_32x32.mat', md5: 'e26dedcc434d2e4c54c9b2d4a06d8373' },
      { name: 'test_32x32.mat', url: 'http://ufldl.stanford.edu/housenumbers/test_32x32.mat', md5: 'eb5a983be6a315427106f1b1649a4235' },
    ],
    systemDirs: [],
  },
  stl10: {
    numClasses: 10,
    files: STL_FILES,
    subdirs: [STL_DIR],
    remote: [
      {
        name: 'stl10_binary.tar.gz',
        url: 'http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz',
        md5: '91f7769df0f17e558f3565bffb0c7dfb',
        members: Object.fromEntries(STL_FILES.map((f) => [`${STL_DIR}/${f}`, f])),
      },
    ],
    systemDirs: [],
  },
  mnist: {
    numClasses: 10,
    files: MNIST_FILES,
    subdirs: [],
    remote: idxRemote('https://ossci-datasets.s3.amazonaws.com/mnist/', [
      'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      'd53e105ee54ea40749a09fcbcd1e9432',
      '9fb629c4189551a2d022fa330f9573f3',
      'ec29112dd5afa0611ce80d1b7f02629c',
    ]),
    systemDirs: [],
  },
  'fashion-mnist': {
    numClasses: 10,
    files: MNIST_FILES,
    subdirs: [],
    remote: idxRemote('http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/', [
      '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      '25c81989df183df01b3e8a0aad5dffbe',
      'bef4ecab320f06d8554ea6380940ec79',
      'bb300cfdad3c16e7a12a480ee83cd310',
    ]),
    // Debian's dataset-fashion-mnist package (recompressed, so not md5-checked; the reader validates it).
    systemDirs: ['/usr/share/datasets/fashion-mnist'],
  },
};
