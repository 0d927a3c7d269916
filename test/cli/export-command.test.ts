import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportCommand, runExport } from '../../cli/export-command.js';
import { DEFAULT_MODEL_CONFIG } from '../../engine/model/config.js';
import { GllNetwork } from '../../engine/model/network.js';
import { saveModel } from '../../engine/train/checkpoint.js';
import { useTestBackend } from '../helpers/backend.js';

beforeAll(useTestBackend);
const dir = mkdtempSync(join(tmpdir(), 'contsup-export-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function modelFile(): string {
  const net = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, model: 'resnet20', modules: 2, context: 'E', inputSize: 28, inChannels: 1 });
  const path = join(dir, 'net.contsup-model');
  writeFileSync(path, saveModel(net));
  net.dispose();
  return path;
}

describe('contsup export', () => {
  it('writes an ONNX file from a model file with its data set normalisation', async () => {
    const path = modelFile();
    const out = join(dir, 'net.onnx');
    const program = new Command().exitOverride();
    exportCommand(program);
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await program.parseAsync(['node', 'contsup', 'export', '--model', path, '--dataset', 'fashion-mnist', '--format', 'onnx', '-o', out]);
    expect(String(write.mock.calls[0]?.[0])).toMatch(/^wrote .*net\.onnx \(\d+ KiB, ONNX opset 17\)/);
    write.mockRestore();
    const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(out)));
    const res = await session.run({ image: new ort.Tensor('float32', new Float32Array(2 * 28 * 28).fill(0.5), [2, 1, 28, 28]) });
    expect(res.logits.dims).toEqual([2, 10]);
    await session.release();
  });

  it('asks for exactly one source, and for the data set of a model file', async () => {
    const output = join(dir, 'never.onnx');
    await expect(runExport({ url: 'http://127.0.0.1:3000', format: 'onnx', output })).rejects.toThrow(/give either --job ID .* or --model FILE/);
    await expect(runExport({ job: 'j', model: 'm', url: 'http://127.0.0.1:3000', format: 'onnx', output })).rejects.toThrow(/give either --job ID/);
    await expect(runExport({ model: modelFile(), url: 'http://127.0.0.1:3000', format: 'onnx', output })).rejects.toThrow(/--model needs --dataset NAME/);
  });

  it('names the coordinator it cannot reach', async () => {
    // Port 9 (discard) on loopback: nothing listens there in a test run.
    await expect(runExport({ job: 'j', url: 'http://127.0.0.1:9', format: 'onnx', output: join(dir, 'x.onnx') })).rejects.toThrow(/cannot reach the coordinator at http:\/\/127\.0\.0\.1:9 .*is --url right/);
  });
});
