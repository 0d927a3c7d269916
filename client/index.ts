// The device runtime shared by the Node CLI and the browser page: no Node modules below this folder.
export { DeviceRuntime } from './device-runtime.js';
export type {
  DeviceLog,
  DeviceLogLevel,
  DeviceMetrics,
  DeviceProblem,
  DeviceRuntimeOptions,
  DeviceSocket,
  DeviceSocketFactory,
  DeviceStageInfo,
  DeviceState,
  DeviceStatus,
} from './device-types.js';
export { StageHost, type StageReplies } from './stage-host.js';
export { modelConfigForJob, type StageDataInfo } from '../engine/model/job-config.js';
export { stageLayout, type StageLayout } from './stage-layout.js';
export { checkStageInput, decodeStageInput, disposeStageBatch, type StageBatch } from './stage-inputs.js';
export { encodeStageOutput } from './stage-outputs.js';
export { measureDeviceSpeed } from '../engine/backend/speed.js';
export { backoffDelay } from './backoff.js';
