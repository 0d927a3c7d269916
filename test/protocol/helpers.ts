import { expect } from 'vitest';
import { ProtocolError } from '../../protocol/errors.js';
import { DEVICE_TO_SERVER_EVENTS } from '../../protocol/events.js';
import { validateFromServer, validateInbound } from '../../protocol/validate.js';

/** Validates with the side that receives `event`. */
export function validate(event: string, payload: unknown): unknown {
  return (DEVICE_TO_SERVER_EVENTS as readonly string[]).includes(event) ? validateInbound(event, payload) : validateFromServer(event, payload);
}

/** Asserts a ProtocolError whose message matches `pattern`, and returns it. */
export function expectRejected(event: string, payload: unknown, pattern: RegExp | string): ProtocolError {
  let error: unknown;
  try {
    validate(event, payload);
  } catch (err: unknown) {
    error = err;
  }
  expect(error, `${event} should be rejected`).toBeInstanceOf(ProtocolError);
  const message = (error as ProtocolError).message;
  if (typeof pattern === 'string') expect(message).toContain(pattern);
  else expect(message).toMatch(pattern);
  return error as ProtocolError;
}
