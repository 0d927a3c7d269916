/**
 * The names a job is described with, in one place: the job spec's schema,
 * the engine's types, the CLI's choices and the dashboard's selects all read
 * them from here, so a name added or dropped changes every side at once.
 */

/** CIFAR ResNet-d backbones (depth 6n + 2). */
export const MODEL_NAMES = ['resnet20', 'resnet32', 'resnet44', 'resnet56', 'resnet110'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Local heads: <convs>c<fully connected layers>f. */
export const HEAD_NAMES = ['0c1f', '0c2f', '1c1f', '1c2f', '1c3f', '2c2f'] as const;
export type HeadName = (typeof HEAD_NAMES)[number];

export const LOSS_NAMES = ['ce', 'supcon'] as const;
export type LossName = (typeof LOSS_NAMES)[number];

export const DATASET_NAMES = ['synthetic', 'cifar10', 'svhn', 'stl10', 'mnist', 'fashion-mnist'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** An image-folder data set: `folder:` + an absolute path on the machine that loads it. */
export const FOLDER_DATASET_PREFIX = 'folder:';
export type FolderDataset = `folder:${string}`;
/** What a job or `--dataset` names: a built-in set or an image folder. */
export type DatasetSpec = DatasetName | FolderDataset;
/** Longest `folder:` spec accepted (prefix included). */
export const MAX_DATASET_SPEC_LENGTH = 1024;
/** `folder:` + an absolute POSIX (`/...`) or Windows (`C:\...`) path, no control characters. */
export const FOLDER_DATASET_PATTERN = /^folder:(\/|[A-Za-z]:[\\/])[^\p{Cc}]*$/u;

export function isFolderDataset(d: string): d is FolderDataset {
  return d.startsWith(FOLDER_DATASET_PREFIX);
}

/** Cut tables: equal compute per module, or balanced memory. */
export const PARTITION_KINDS = ['equal', 'memory'] as const;
export type PartitionKind = (typeof PARTITION_KINDS)[number];

/** Dtypes boundary features travel as (a job's `wire`). */
export const WIRE_DTYPES = ['float32', 'float16', 'int8'] as const;
export type WireDtype = (typeof WIRE_DTYPES)[number];

/**
 * Context modes: R0 (none), E (image), R<n> (n previous boundaries), R<n>E
 * (both); n >= 1, no leading zeros. The groups are read by parseContext.
 */
export const CONTEXT_PATTERN = /^(?:(R0)|(E)|R([1-9]\d*)(E?))$/;

export interface ContextMode {
  /** E: the input image is a context source at every cut. */
  image: boolean;
  /** Rn: the n most recent module inputs are sources. */
  recent: number;
}

/** R0, E, R<n>, R<n>E -> what it supplies; throws naming the allowed forms. */
export function parseContext(mode: string): ContextMode {
  const m = CONTEXT_PATTERN.exec(mode);
  if (!m) throw new Error(`unknown context mode "${mode}": use R0, E, R<n> or R<n>E (e.g. R1, R2, R1E)`);
  if (m[1]) return { image: false, recent: 0 };
  if (m[2]) return { image: true, recent: 0 };
  return { image: m[4] === 'E', recent: Number(m[3]) };
}
