import { selectBackend } from '../../engine/backend/select-backend.js';

/** Tests train on wasm, the backend every CI and user machine has, with contsup's conv gradient kernels. */
export async function useTestBackend(): Promise<void> {
  await selectBackend('wasm');
}
