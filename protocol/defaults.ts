/**
 * Every default value of the project, in one place: the job spec, the
 * engine's model config, the CLI's options and the coordinator's settings
 * read them from here. Where two entry points deliberately differ, both
 * values are here, named, with the reason.
 */

/** What a job gets for each field its REST body leaves out (`parseJobSpec`). */
export const JOB_DEFAULTS = {
  model: 'resnet32',
  modules: 4,
  context: 'E',
  loss: 'ce',
  head: '1c2f',
  decoder: false,
  dataset: 'synthetic',
  epochs: 1,
  batchSize: 32,
  lr: 0.1,
  wire: 'float32',
  minDevices: 1,
  seed: 1,
  checkpointEvery: 0,
  partition: 'equal',
} as const;

/**
 * `contsup train`: the job defaults, except a larger batch. One process has
 * no per-batch relay, so a larger batch keeps its backend busy; a job's 32
 * keeps every stage's messages and memory small on small devices.
 */
export const TRAIN_DEFAULTS = { ...JOB_DEFAULTS, batchSize: 128 } as const;

/** `contsup reproduce`: a budget that runs the paper's 17-run table on a laptop CPU. */
export const REPRODUCE_DEFAULTS = {
  dataset: 'fashion-mnist',
  limitTrain: 4000,
  limitTest: 1000,
  epochs: 1,
  batchSize: JOB_DEFAULTS.batchSize,
  lr: JOB_DEFAULTS.lr,
  seed: JOB_DEFAULTS.seed,
  out: 'bench/results',
} as const;

/** `contsup coordinator` and the coordinator's own settings. */
export const COORDINATOR_DEFAULTS = {
  port: 3000,
  host: '0.0.0.0',
  dataDir: '.contsup',
  /** Period devices send `device:heartbeat` at. */
  heartbeatMs: 2000,
  /** Inputs in flight per stage (flow control). */
  credits: 2,
  /**
   * 64 MiB: a float32 first-boundary output (32x32x16 features + E image) of a
   * 512-sample batch is ~35 MB, and a resnet110 checkpoint ~14 MB.
   */
  maxMessageMib: 64,
} as const;

/** `contsup device`. */
export const DEVICE_DEFAULTS = {
  url: `http://127.0.0.1:${COORDINATOR_DEFAULTS.port}`,
} as const;

/**
 * `contsup start` (npm start): the default job is JOB_DEFAULTS with these
 * changes. More epochs than a job's 1 so the dashboard shows a curve; on the
 * synthetic set (no real data here) a bounded subset keeps it to minutes.
 */
export const START_DEFAULTS = {
  devices: 2,
  epochs: 5,
  syntheticLimitTrain: 5000,
  syntheticLimitTest: 1000,
} as const;
