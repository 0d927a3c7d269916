import type { Command } from 'commander';
import { startCoordinator, type CoordinatorHandle } from '../server/main.js';
import { COORDINATOR_DEFAULTS } from '../protocol/defaults.js';
import { INGRESS_LIMITS } from '../protocol/ingress-limits.js';
import { DEFAULT_DEADLINE_CAP_MS, DEFAULT_DEADLINE_FLOOR_MS, DEFAULT_READY_TIMEOUT_MS } from '../server/config.js';
import { bannerLines, coordinatorUrls } from './banner.js';
import { int } from './options.js';

interface CoordinatorCommandOptions {
  port: number;
  host: string;
  dataDir: string;
  joinToken?: string;
  adminToken?: string;
  maxMessageMib: number;
  datasetDir?: string;
  joinWindowMs: number;
  deadlineFloorMs: number;
  deadlineCapMs: number;
  readyTimeoutMs: number;
}

function printBanner(c: CoordinatorHandle, host: string): void {
  const urls = coordinatorUrls(c, host);
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  for (const line of bannerLines({ urls, joinToken: c.joinToken, adminToken: c.adminToken })) out(line);
  out(`new job:     curl -X POST ${c.url}/api/jobs -H 'Authorization: Bearer ${c.adminToken}' -H 'Content-Type: application/json' -d '{"model":"resnet20","modules":4}'`);
}

/** Registers `contsup coordinator`: starts the coordinator and prints its URL and tokens. */
export function coordinatorCommand(program: Command): Command {
  return program
    .command('coordinator')
    .description('run the coordinator: REST API, device and dashboard Socket.IO, SQLite history')
    .option('--port <n>', 'TCP port (0 picks a free one)', int('--port', 0, 65535), COORDINATOR_DEFAULTS.port)
    .option('--host <addr>', 'interface to listen on', COORDINATOR_DEFAULTS.host)
    .option('--data-dir <dir>', 'database and checkpoints', COORDINATOR_DEFAULTS.dataDir)
    .option('--join-token <t>', 'token devices join with (default: the one an earlier run stored in the data dir, else random)')
    .option('--admin-token <t>', 'bearer token for REST mutations (default: stored in the data dir, else random)')
    .option('--max-message-mib <n>', 'largest message a device may send, MiB', int('--max-message-mib', 1, 4096), COORDINATOR_DEFAULTS.maxMessageMib)
    .option('--join-window-ms <n>', 'close connections that have not joined (or subscribed) within this', int('--join-window-ms', 100, 600_000), INGRESS_LIMITS.joinWindowMs)
    .option('--dataset-dir <dir>', 'where data sets are searched and downloaded (default ~/.cache/contsup/datasets)')
    .option('--deadline-floor-ms <n>', 'shortest time a stage gets to answer a batch before it misses its deadline, ms', int('--deadline-floor-ms', 1), DEFAULT_DEADLINE_FLOOR_MS)
    .option('--deadline-cap-ms <n>', 'longest time a stage gets to answer a batch, ms', int('--deadline-cap-ms', 1), DEFAULT_DEADLINE_CAP_MS)
    .option('--ready-timeout-ms <n>', 'time a device gets to build a stage it was given and report ready, ms', int('--ready-timeout-ms', 1), DEFAULT_READY_TIMEOUT_MS)
    .action(async (opts: CoordinatorCommandOptions) => {
      const c = await startCoordinator({
        port: opts.port,
        host: opts.host,
        dataDir: opts.dataDir,
        joinToken: opts.joinToken,
        adminToken: opts.adminToken,
        maxMessageBytes: opts.maxMessageMib * 1024 * 1024,
        datasetDir: opts.datasetDir,
        joinWindowMs: opts.joinWindowMs,
        deadlineFloorMs: opts.deadlineFloorMs,
        deadlineCapMs: opts.deadlineCapMs,
        readyTimeoutMs: opts.readyTimeoutMs,
      });
      printBanner(c, opts.host);
      const stop = (): void => {
        void c.close().finally(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
