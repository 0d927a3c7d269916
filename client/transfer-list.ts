/**
 * Prepares a message for postMessage with its byte arrays moved, not cloned.
 * Each Uint8Array (tensor frame data, checkpoint weights) that is the whole of
 * its buffer is transferred as is; a view into a bigger buffer (msgpackr and
 * Node's Buffer pool hand those out, and other views may share that buffer)
 * is copied once into a buffer of its own, which is then transferred.
 * Returns a copy of `value`'s plain objects and arrays; the caller must not
 * touch the original's byte arrays afterwards (transferred ones are detached).
 */
export function withTransfers<T>(value: T): { value: T; transfer: ArrayBuffer[] } {
  const transfer = new Set<ArrayBuffer>();
  const walk = (v: unknown): unknown => {
    if (v instanceof Uint8Array) {
      const whole = v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer;
      const own = whole && !transfer.has(v.buffer) ? v : new Uint8Array(v);
      transfer.add(own.buffer as ArrayBuffer);
      return own;
    }
    if (ArrayBuffer.isView(v) || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map(walk);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x);
    return out;
  };
  const copied = walk(value) as T;
  return { value: copied, transfer: [...transfer] };
}
