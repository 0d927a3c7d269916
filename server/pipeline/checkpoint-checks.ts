import { decodeFile, type StageCheckpoint, type StoredTensor } from '../../engine/train/checkpoint-format.js';
import { ProtocolError } from '../../protocol/index.js';

/** What a stage's checkpoint must match: the stage it comes from and the step it claims. */
export interface CheckpointExpectation {
  stage: number;
  firstModule: number;
  lastModule: number;
  step: number;
}

function checkTensor(t: StoredTensor | undefined, name: string): string | null {
  if (!t || typeof t !== 'object') return `tensor ${name} is not a {shape, bytes} map`;
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d > 0)) return `tensor ${name} has no valid shape`;
  if (!(t.bytes instanceof Uint8Array)) return `tensor ${name} has no bytes`;
  const want = t.shape.reduce((a, b) => a * b, 1) * 4;
  if (t.bytes.byteLength !== want) return `tensor ${name} holds ${t.bytes.byteLength} bytes, float32 [${t.shape.join(',')}] is ${want}`;
  return null;
}

/**
 * Reads a stage checkpoint's header and tensor list without tfjs
 * (engine/train/checkpoint-format.ts layout) and checks it belongs to the
 * stage: format and version, module range, step, at least one tensor, each
 * with bytes matching its float32 shape, momentum only for parameters it
 * holds and of their shape. (Parameter names are the network's own, e.g.
 * `stem/conv/w`; the device checks them against its model on load.) Throws
 * ProtocolError('bad-checkpoint') naming the first problem.
 */
export function checkCheckpoint(bytes: Uint8Array, want: CheckpointExpectation): void {
  const what = `stage:checkpoint of stage ${want.stage} at step ${want.step}`;
  const fail = (why: string): never => {
    throw new ProtocolError('bad-checkpoint', `${what}: ${why}; send the stage's saveStage file`);
  };
  let ckpt: StageCheckpoint;
  try {
    ckpt = decodeFile<StageCheckpoint>(bytes, 'contsup-stage');
  } catch (err: unknown) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  if (ckpt.firstModule !== want.firstModule || ckpt.lastModule !== want.lastModule) {
    fail(`the file holds modules ${String(ckpt.firstModule)}..${String(ckpt.lastModule)}, the stage holds ${want.firstModule}..${want.lastModule}`);
  }
  if (ckpt.step !== want.step) fail(`the file is of step ${String(ckpt.step)}`);
  if (!ckpt.params || typeof ckpt.params !== 'object') fail('the file has no params map');
  if (!ckpt.momentum || typeof ckpt.momentum !== 'object') fail('the file has no momentum map');
  const names = Object.keys(ckpt.params);
  if (names.length === 0) fail('the file holds no tensor');
  for (const name of names) {
    const bad = checkTensor(ckpt.params[name], name);
    if (bad) fail(bad);
  }
  for (const [name, t] of Object.entries(ckpt.momentum)) {
    const p = ckpt.params[name];
    if (!p) fail(`momentum ${name} has no parameter`);
    const bad = checkTensor(t, `${name} (momentum)`);
    if (bad) fail(bad);
    if (t.shape.join(',') !== p!.shape.join(',')) fail(`momentum ${name} has shape [${t.shape.join(',')}], its parameter [${p!.shape.join(',')}]`);
  }
}
