import type { Socket } from 'socket.io';
import { EVENTS, isProtocolError } from '../../protocol/index.js';
import type { RefusalTally } from './refusal-tally.js';

/**
 * Answers a refused Socket.IO message with an `error` event {code, message,
 * event, batchId?} naming the fix, and logs it; the message is dropped.
 * Errors that are not ProtocolErrors are bugs: code 'internal', stack logged.
 * Every refusal is counted in `tally` by its code.
 */
export function refuse(socket: Socket, err: unknown, event: string, payload: unknown, log: (m: string) => void, tally: RefusalTally): void {
  const code = isProtocolError(err) ? err.code : 'internal';
  tally.count(code);
  const message = err instanceof Error ? err.message : String(err);
  const batchId = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)['batchId'] : undefined;
  const answer: { code: string; message: string; event: string; batchId?: number } = { code, message, event };
  if (typeof batchId === 'number' && Number.isSafeInteger(batchId) && batchId >= 0) answer.batchId = batchId;
  if (socket.connected) socket.emit(EVENTS.error, answer);
  const who = socket.handshake.address;
  log(`refused ${event} from ${who}: ${code}: ${message}${code === 'internal' && err instanceof Error ? `\n${err.stack}` : ''}`);
}
