import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { startCoordinator } from '../server/main.js';
import { DatasetUnavailableError, loadDataset } from '../engine/data/load-dataset.js';
import { COORDINATOR_DEFAULTS, START_DEFAULTS } from '../protocol/defaults.js';
import { parseJobSpec, type JobSpec } from '../protocol/job-spec.js';
import type { DatasetName } from '../protocol/names.js';
import { bannerLines, coordinatorUrls } from './banner.js';
import { int } from './options.js';
import { parseThreads, threadsPerDevice } from './threads.js';

interface StartOptions {
  port: number;
  devices: number;
  dataDir: string;
  datasetDir?: string;
  epochs: number;
  threads?: number;
}

/**
 * The data set of the default job: CIFAR-10 when its files are already here,
 * else Fashion-MNIST when present, else the synthetic set (nothing is downloaded).
 */
export async function defaultJobDataset(datasetDir: string | undefined, warn: (m: string) => void): Promise<DatasetName> {
  for (const name of ['cifar10', 'fashion-mnist'] as const) {
    try {
      await loadDataset(name, { dataDir: datasetDir, download: false, limitTrain: 2, limitTest: 1 });
      return name;
    } catch (err: unknown) {
      if (!(err instanceof DatasetUnavailableError)) throw err;
    }
  }
  warn('WARNING: neither CIFAR-10 nor Fashion-MNIST is on this machine: the default job trains on the SYNTHETIC set. Put the CIFAR-10 binary files in ~/.cache/contsup/datasets/cifar10/ (or install the Debian package dataset-fashion-mnist) for real data.');
  return 'synthetic';
}

function prefixLines(child: ChildProcess, name: string): void {
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) process.stderr.write(`[${name}] ${line}\n`);
    });
  }
}

/**
 * The default job: the job defaults with START_DEFAULTS' changes, checked by
 * parseJobSpec here (so a bad --epochs is refused before anything starts) and
 * again by POST /api/jobs.
 */
export function defaultJobSpec(dataset: DatasetName, epochs: number, minDevices: number): JobSpec {
  const limits = dataset === 'synthetic' ? { limitTrain: START_DEFAULTS.syntheticLimitTrain, limitTest: START_DEFAULTS.syntheticLimitTest } : {};
  return parseJobSpec({ dataset, epochs, minDevices, ...limits });
}

/** `contsup start` (npm start): coordinator + local Node devices + the default job. */
export function startCommand(program: Command): void {
  program
    .command('start')
    .description('run the coordinator, start local Node devices and submit the default job (ResNet-32, K = 4, context E)')
    .option('--port <n>', 'TCP port', int('--port', 0), COORDINATOR_DEFAULTS.port)
    .option('--devices <n>', 'local Node devices to start', int('--devices', 1), START_DEFAULTS.devices)
    .option('--data-dir <dir>', 'coordinator database and checkpoints', COORDINATOR_DEFAULTS.dataDir)
    .option('--dataset-dir <dir>', 'where data sets are searched (default ~/.cache/contsup/datasets)')
    .option('--epochs <n>', 'epochs of the default job', int('--epochs'), START_DEFAULTS.epochs)
    .option('--threads <n>', 'CPU threads of each local device (default: the cores divided between the devices)', parseThreads)
    .action(async (opts: StartOptions) => {
      const say = (m: string): void => void process.stdout.write(`${m}\n`);
      // A bad --epochs is refused before anything starts (the data set does not change that).
      defaultJobSpec('synthetic', opts.epochs, opts.devices);
      const dataset = await defaultJobDataset(opts.datasetDir, (m) => process.stderr.write(`${m}\n`));
      const c = await startCoordinator({ port: opts.port, dataDir: opts.dataDir, datasetDir: opts.datasetDir });
      const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
      const threads = String(opts.threads ?? threadsPerDevice(opts.devices));
      const devices = Array.from({ length: opts.devices }, (_, i) => {
        const args = [cli, 'device', '--url', c.url, '--token', c.joinToken, '--name', `local-${i + 1}`, '--threads', threads];
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        prefixLines(child, `local-${i + 1}`);
        return child;
      });
      const spec = defaultJobSpec(dataset, opts.epochs, opts.devices);
      const res = await fetch(`${c.url}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${c.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(spec) });
      const job = (await res.json()) as { id?: string; message?: unknown };
      if (!res.ok || !job.id) throw new Error(`the default job was refused: ${JSON.stringify(job)}`);
      for (const line of bannerLines({ urls: coordinatorUrls(c, COORDINATOR_DEFAULTS.host), joinToken: c.joinToken, adminToken: c.adminToken })) say(line);
      say(`default job: ${job.id} (${spec.model}, K = ${spec.modules}, ${spec.context}, ${dataset}) on ${opts.devices} local devices, ${threads} thread${threads === '1' ? '' : 's'} each`);
      say(`progress:    curl ${c.url}/api/jobs/${job.id}`);
      const stop = (): void => {
        for (const d of devices) d.kill('SIGTERM');
        void c.close().finally(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
