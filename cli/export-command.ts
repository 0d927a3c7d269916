import { readFile, writeFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { preprocessFor } from '../engine/data/dataset.js';
import { exportOnnx } from '../engine/export/onnx.js';
import { DATASET_NAMES, type DatasetName } from '../protocol/names.js';

export interface ExportCommandOptions {
  job?: string;
  url: string;
  model?: string;
  dataset?: DatasetName;
  format: 'onnx';
  output: string;
}

/**
 * `contsup export`: the trained network as an ONNX file, either a job's from
 * its coordinator (which exports it) or from a model file saved earlier
 * (`GET /api/jobs/:id/model`), exported here. Returns the bytes written.
 */
export async function runExport(opts: ExportCommandOptions): Promise<number> {
  if ((opts.job === undefined) === (opts.model === undefined)) {
    throw new Error('give either --job ID (with --url of its coordinator) or --model FILE (with --dataset NAME)');
  }
  const bytes = opts.job !== undefined ? await fromCoordinator(opts.url, opts.job) : await fromModelFile(opts.model!, opts.dataset);
  await writeFile(opts.output, bytes);
  return bytes.byteLength;
}

async function fromCoordinator(url: string, job: string): Promise<Uint8Array> {
  const address = new URL(`api/jobs/${encodeURIComponent(job)}/model.onnx`, url.endsWith('/') ? url : `${url}/`);
  let res: Response;
  try {
    res = await fetch(address);
  } catch (err: unknown) {
    throw new Error(`cannot reach the coordinator at ${url} (${err instanceof Error ? err.message : String(err)}): is it running, and is --url right?`, { cause: err });
  }
  if (!res.ok) {
    const body = await res.text();
    let message = body;
    try {
      const parsed = (JSON.parse(body) as { message?: unknown }).message;
      if (typeof parsed === 'string') message = parsed;
    } catch {
      // Not JSON: the body itself is the best message there is.
    }
    throw new Error(`GET ${address.pathname} answered ${res.status}: ${message}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

async function fromModelFile(path: string, dataset: DatasetName | undefined): Promise<Uint8Array> {
  // The model file holds weights and the model config, not the data set: its normalisation becomes part of the graph.
  if (!dataset) throw new Error(`--model needs --dataset NAME, the data set ${path} was trained on (one of ${DATASET_NAMES.join(', ')}): its normalisation goes into the ONNX graph`);
  const { mean, std } = preprocessFor(dataset);
  return exportOnnx(await readFile(path), { mean, std });
}

function httpUrl(v: string): string {
  try {
    const u = new URL(v);
    if (u.protocol === 'http:' || u.protocol === 'https:') return v;
  } catch {
    // Reported below with the expected form.
  }
  throw new InvalidArgumentError(`--url must be an http(s) URL such as http://127.0.0.1:3000, got "${v}"`);
}

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('write a trained network as an ONNX file (input NCHW float32 pixel/255, outputs logits and probabilities; opset 17)')
    .option('--job <id>', 'a job of the coordinator at --url')
    .option('--url <url>', 'the coordinator that ran --job', httpUrl, 'http://127.0.0.1:3000')
    .option('--model <file>', 'a model file (GET /api/jobs/:id/model) instead of --job')
    .addOption(new Option('--dataset <name>', 'with --model: the data set it was trained on (its normalisation)').choices([...DATASET_NAMES]))
    .addOption(new Option('--format <format>', 'output format').choices(['onnx']).default('onnx'))
    .requiredOption('-o, --output <file>', 'where to write the ONNX file')
    .action(async (opts: ExportCommandOptions) => {
      const bytes = await runExport(opts);
      process.stdout.write(`wrote ${opts.output} (${(bytes / 1024).toFixed(0)} KiB, ONNX opset 17)\n`);
    });
}
