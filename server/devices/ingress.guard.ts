import type { Socket } from 'socket.io';
import { Decoder, INGRESS_LIMITS, ProtocolError, deviceFrameLimits } from '../../protocol/index.js';
import { TokenBucket } from '../common/token-bucket.js';

/** A message and a byte bucket, for one connection or one address. */
interface Rates {
  messages: TokenBucket;
  bytes: TokenBucket;
  /** Connections sharing it (address buckets are dropped with their last connection). */
  users: number;
}

function rates(messagesPerSec: number, bytesPerSec: number, maxMessageBytes: number): Rates {
  return {
    messages: new TokenBucket(messagesPerSec, messagesPerSec),
    // A full-size message must always fit, however low the rate.
    bytes: new TokenBucket(bytesPerSec, Math.max(bytesPerSec, maxMessageBytes)),
    users: 0,
  };
}

/**
 * The decoder socket.io made for this connection. socket.io creates one per
 * client connection (socket.io/dist/client.js) and keeps it in a field its
 * types call private; a socket.io that no longer has it fails here, at
 * connection time, instead of silently decoding without our limits.
 */
function decoderOf(socket: Socket): Decoder {
  const decoder: unknown = Reflect.get(socket.client, 'decoder');
  if (!(decoder instanceof Decoder)) throw new Error("socket.io's client has no contsup Decoder: the io adapter must install protocol's parser");
  return decoder;
}

/**
 * Ingress limits of the coordinator's Socket.IO connections (docs/runtime.md,
 * Limits): frames are capped before decoding (pre-join limits until a device
 * is trusted), each connection and each address has message and byte rate
 * caps, and a connection that neither joins nor subscribes within the join
 * window is closed with a reason.
 */
export class IngressGuard {
  private readonly byAddress = new Map<string, Rates>();

  constructor(
    private readonly maxMessageBytes: number,
    private readonly joinWindowMs: number,
  ) {}

  /**
   * Caps the new connection's rates; `settled` says whether it joined or
   * subscribed in time, `expire` closes it when not. Returns the undo for
   * its disconnect.
   */
  attach(socket: Socket, settled: () => boolean, expire: (err: ProtocolError) => void): () => void {
    const address = socket.handshake.address;
    const own = rates(INGRESS_LIMITS.connectionMessagesPerSec, INGRESS_LIMITS.connectionBytesPerSec, this.maxMessageBytes);
    const shared = this.byAddress.get(address) ?? rates(INGRESS_LIMITS.addressMessagesPerSec, INGRESS_LIMITS.addressBytesPerSec, this.maxMessageBytes);
    shared.users++;
    this.byAddress.set(address, shared);
    decoderOf(socket).admit = (bytes) => {
      if (!own.messages.take(1) || !own.bytes.take(bytes)) throw rateError('this connection', INGRESS_LIMITS.connectionMessagesPerSec, INGRESS_LIMITS.connectionBytesPerSec);
      if (!shared.messages.take(1) || !shared.bytes.take(bytes)) throw rateError(`address ${address}`, INGRESS_LIMITS.addressMessagesPerSec, INGRESS_LIMITS.addressBytesPerSec);
    };
    const timer = setTimeout(() => {
      if (!settled()) expire(new ProtocolError('join-timeout', `this connection neither sent device:join nor dash:subscribe within ${this.joinWindowMs} ms of connecting; it is closed`));
    }, this.joinWindowMs);
    timer.unref();
    return () => {
      clearTimeout(timer);
      if (--shared.users === 0) this.byAddress.delete(address);
    };
  }

  /** A joined device may send stage outputs and checkpoints: raise its frame limits. */
  trust(socket: Socket): void {
    decoderOf(socket).setLimits(deviceFrameLimits(this.maxMessageBytes));
  }
}

function rateError(who: string, messagesPerSec: number, bytesPerSec: number): ProtocolError {
  return new ProtocolError('rate-limit', `${who} sent more than ${messagesPerSec} messages or ${bytesPerSec} bytes a second; the connection is closed`);
}
