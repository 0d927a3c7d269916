import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server as HttpServer } from 'node:http';
import { Server, type ServerOptions } from 'socket.io';
import { parser } from '../protocol/index.js';

type NestIoServer = ReturnType<IoAdapter['createIOServer']>;
type NestIoOptions = Parameters<IoAdapter['createIOServer']>[1];

/**
 * Socket.IO as docs/protocol.md section 1 fixes it: our msgpack parser,
 * WebSocket only (polling would base64 the tensors), no per-message deflate
 * (floats do not compress), and a max message size that is also the
 * WebSocket's max payload: anything above it closes that connection.
 *
 * The server is built from the project's socket.io, not the copy nested
 * under @nestjs/platform-socket.io, so gateway types and runtime agree.
 */
export class ContsupIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly maxMessageBytes: number,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: NestIoOptions): NestIoServer {
    const opts: Partial<ServerOptions> = {
      ...(options as Partial<ServerOptions> | undefined),
      parser,
      transports: ['websocket'],
      perMessageDeflate: false,
      maxHttpBufferSize: this.maxMessageBytes,
      serveClient: false,
    };
    // Port 0 means "share the HTTP server" (NestJS gateway convention).
    const server = this.httpServer && port === 0 ? new Server(this.httpServer as HttpServer, opts) : new Server(port, opts);
    return server as unknown as NestIoServer;
  }
}
