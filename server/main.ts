import 'reflect-metadata';
import { DEFAULT_REBALANCE_RULE, type RebalanceRule } from './planner/rebalance-policy.js';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import type { Server as HttpServer } from 'node:http';
import { INGRESS_LIMITS } from '../protocol/index.js';
import { AppModule } from './app.module.js';
import {
  DEFAULT_CREDITS,
  DEFAULT_DEADLINE_CAP_MS,
  DEFAULT_READY_TIMEOUT_MS,
  DEFAULT_DEADLINE_FLOOR_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_PLAN_EFFICIENCY,
  type CoordinatorConfig,
} from './config.js';
import { requireJsonBody } from './common/json-body.middleware.js';
import { serveWebApp } from './dashboard/static.assets.js';
import { ContsupIoAdapter } from './io.adapter.js';
import { CheckpointStore } from './storage/checkpoint.store.js';
import { MetricsStore } from './storage/metrics.store.js';
import { coordinatorTokens } from './storage/tokens.js';

export interface CoordinatorOptions {
  port: number;
  /** Interface to listen on (default 0.0.0.0; tests use 127.0.0.1). */
  host?: string;
  /** SQLite database, checkpoints (created if missing). */
  dataDir: string;
  /** Devices must send it in device:join; when absent, the one stored in the data dir, else generated (and stored). */
  joinToken?: string;
  /** REST mutations need it as a Bearer token; when absent, stored or generated as joinToken. */
  adminToken?: string;
  log?: (message: string) => void;
  /** Largest inbound message (Socket.IO maxHttpBufferSize), default 64 MiB. */
  maxMessageBytes?: number;
  /** Device heartbeat period, default 2000 ms (lost after 3 missed). */
  heartbeatMs?: number;
  /** Inputs in flight per stage, default 2. */
  credits?: number;
  /** Connections must join (or subscribe) within this, default 5000 ms. */
  joinWindowMs?: number;
  /** Shortest per-batch deadline at a stage, default 10 s (docs/runtime.md, deadlines). */
  deadlineFloorMs?: number;
  /** Longest per-batch deadline at a stage, default 10 min. */
  deadlineCapMs?: number;
  /** A newly assigned stage must report ready within this, default 3 min. */
  readyTimeoutMs?: number;
  /** Re-planning from measured stage times: the rule (default DEFAULT_REBALANCE_RULE, parts may be given), or false for off. */
  rebalance?: Partial<RebalanceRule> | false;
  /** Where real data sets are read/downloaded (default ~/.cache/contsup/datasets). */
  datasetDir?: string;
  /** Built front end (dashboard at /, device page at /device); default dist/web. */
  webDir?: string;
}

export interface CoordinatorHandle {
  /** http://host:port (127.0.0.1 when listening on every interface). */
  url: string;
  port: number;
  joinToken: string;
  adminToken: string;
  close(): Promise<void>;
}

/** Nest's own messages: errors and warnings go to the coordinator log, chatter is dropped. */
class NestLog implements LoggerService {
  constructor(private readonly out: (m: string) => void) {}
  log(): void {}
  error(message: unknown, ...rest: unknown[]): void {
    this.out(`nest error: ${String(message)} ${rest.map(String).join(' ')}`);
  }
  warn(message: unknown): void {
    this.out(`nest warning: ${String(message)}`);
  }
}

/** Starts the coordinator: REST under /api, Socket.IO for devices and dashboards. */
export async function startCoordinator(opts: CoordinatorOptions): Promise<CoordinatorHandle> {
  const host = opts.host ?? '0.0.0.0';
  const log = opts.log ?? ((m: string) => void process.stderr.write(`${m}\n`));
  mkdirSync(opts.dataDir, { recursive: true });
  const tokens = coordinatorTokens(opts.dataDir, { joinToken: opts.joinToken, adminToken: opts.adminToken });
  const config: CoordinatorConfig = {
    dataDir: opts.dataDir,
    joinToken: tokens.joinToken,
    adminToken: tokens.adminToken,
    heartbeatMs: opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    credits: opts.credits ?? DEFAULT_CREDITS,
    maxMessageBytes: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    joinWindowMs: opts.joinWindowMs ?? INGRESS_LIMITS.joinWindowMs,
    datasetDir: opts.datasetDir,
    planEfficiency: DEFAULT_PLAN_EFFICIENCY,
    deadlineFloorMs: opts.deadlineFloorMs ?? DEFAULT_DEADLINE_FLOOR_MS,
    deadlineCapMs: Math.max(opts.deadlineCapMs ?? DEFAULT_DEADLINE_CAP_MS, opts.deadlineFloorMs ?? DEFAULT_DEADLINE_FLOOR_MS),
    readyTimeoutMs: opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    rebalance: opts.rebalance === false ? false : { ...DEFAULT_REBALANCE_RULE, ...opts.rebalance },
    log,
  };
  mkdirSync(config.dataDir, { recursive: true });
  const metrics = new MetricsStore(config.dataDir);
  const checkpoints = new CheckpointStore(config.dataDir, metrics);
  let app;
  try {
    app = await NestFactory.create<NestExpressApplication>(AppModule.register(config, metrics, checkpoints), new ExpressAdapter(), {
      logger: new NestLog(log),
      abortOnError: false,
      // Keep-alive HTTP clients would otherwise hold close() open for seconds.
      forceCloseConnections: true,
    });
    app.use('/api', requireJsonBody);
    app.useWebSocketAdapter(new ContsupIoAdapter(app, config.maxMessageBytes));
    serveWebApp(app, { dir: opts.webDir, log });
    await app.listen(opts.port, host);
  } catch (err: unknown) {
    await app?.close().catch(() => undefined);
    metrics.close();
    throw err;
  }
  const server = app.getHttpServer() as HttpServer;
  const port = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
  log(`coordinator listening on ${url}`);
  let closed = false;
  const nest = app;
  return {
    url,
    port,
    joinToken: config.joinToken,
    adminToken: config.adminToken,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await nest.close();
      metrics.close();
    },
  };
}
