/**
 * The Node backends by name, fastest first: the CLI's --backend choices. Kept
 * apart from select-backend.ts so a command can list them without loading
 * tfjs (the coordinator process never loads it).
 */
export const NODE_BACKEND_NAMES = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'native', 'wasm', 'cpu'] as const;
export type NodeBackendName = (typeof NODE_BACKEND_NAMES)[number];
