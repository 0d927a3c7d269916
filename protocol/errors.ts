/** Machine-readable reasons a message was refused; also sent in the `error` event's `code`. */
export const PROTOCOL_ERROR_CODES = [
  'bad-packet',
  'bad-schema',
  'bad-tensor',
  'bad-token',
  'too-large',
  'unknown-event',
  'version',
  'not-assigned',
  'bad-batch',
  'join-timeout',
  'rate-limit',
  'bad-checkpoint',
] as const;

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

/**
 * A peer broke the wire contract. The message names the event, the field or
 * tensor and, where there is one, the fix, so it can be sent back verbatim.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
