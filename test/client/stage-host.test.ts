import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { preprocessFor } from '../../engine/data/dataset.js';
import { augmentImages } from '../../engine/data/preprocess.js';
import { LocalStageHost, type StageReplies } from '../../client/stage-host.js';
import { GllNetwork } from '../../engine/model/network.js';
import { disposePrepared, prepareBatch } from '../../engine/train/batches.js';
import { loadStage } from '../../engine/train/checkpoint.js';
import { StageRunner, disposeStageTensors } from '../../engine/train/stage-runner.js';
import type { StageInput, StageOutput } from '../../protocol/data-messages.js';
import type { JobSpec } from '../../protocol/job-spec.js';
import { decodeFrame, encodeFrame } from '../../protocol/tensor-frame.js';
import { validateFromServer, validateInbound } from '../../protocol/validate.js';
import { useTestBackend } from '../helpers/backend.js';
import { BATCH, SIZE, assignFor, images, job, labels, referenceConfig, stage0Input } from './fixtures.js';

beforeAll(useTestBackend);

const spec = preprocessFor('synthetic');

/** The in-process reference: modules first..last trained on the same batch exactly as InProcessTrainer does. */
async function referenceStep(runner: StageRunner, batchId: number, first: number): Promise<{ h: Float32Array; loss: number[]; augmented: Uint8Array }> {
  const augmented = augmentImages(images(first), BATCH, SIZE, SIZE, 3, spec, 1000 + batchId);
  const b = prepareBatch(runner.net, augmented, labels(first), [SIZE, SIZE, 3], spec);
  const { output, metrics } = await runner.train(b.input, b.labels, b.target, 0.05);
  const h = output.h.dataSync() as Float32Array;
  disposeStageTensors(output);
  disposePrepared(b);
  return { h, loss: metrics.map((m) => m.loss), augmented };
}

/** What the coordinator relays: stage s's output becomes stage s+1's input. */
function relay(out: StageOutput, lr: number | undefined): StageInput {
  const msg: StageInput = { ...out, stage: out.stage + 1 };
  if (out.phase === 'train' && lr !== undefined) msg.lr = lr;
  return validateFromServer('stage:input', msg);
}

const weights = (net: GllNetwork): Float32Array[] => net.store.params.map((p) => p.variable.dataSync() as Float32Array);

describe('LocalStageHost', () => {
  it('stage 0 with E context sends h bit-equal to the in-process StageRunner, plus the augmented image as uint8', async () => {
    const host = LocalStageHost.build(assignFor(job('E'), 0, 0, 0));
    const replies = await host.run(validateFromServer('stage:input', stage0Input(0, 0)));

    const net = new GllNetwork(referenceConfig(job('E')));
    const ref = await referenceStep(new StageRunner(net, 0, 0), 0, 0);

    const out = validateInbound('stage:output', replies.output);
    expect(out.h!.dtype).toBe('float32');
    expect(out.h!.shape).toEqual([BATCH, ...net.outputShape(0)]);
    expect(Buffer.from(decodeFrame(out.h!).buffer).equals(Buffer.from(ref.h.buffer))).toBe(true);
    expect(out.image!.dtype).toBe('uint8');
    expect(decodeFrame(out.image!)).toEqual(ref.augmented);
    expect(out.history).toBeUndefined();
    expect(out.labels).toEqual(stage0Input(0, 0).labels);

    const metrics = validateInbound('stage:metrics', replies.metrics);
    expect(metrics.modules).toHaveLength(1);
    expect(metrics.modules[0]!.loss).toBe(ref.loss[0]);
    expect(metrics.modules[0]!.count).toBe(BATCH);
    expect(metrics.peakBytes[0]).toBeGreaterThan(0);
    expect(replies.done).toBeUndefined();
    expect(replies.checkpoint).toBeUndefined();
    host.dispose();
    net.dispose();
  });

  const chains: { name: string; spec: JobSpec }[] = [
    { name: 'R1 (a uint8 image entry, then a float entry in history)', spec: job('R1', 3) },
    { name: 'R1E with a decoder (image, history and reconstruction targets downstream)', spec: job('R1E', 3, { decoder: true }) },
  ];
  for (const c of chains) {
    it(`three stages relaying wire frames end with the in-process weights: ${c.name}`, async () => {
      const hosts = [0, 1, 2].map((s) => LocalStageHost.build(assignFor(c.spec, s, s, s)));
      const net = new GllNetwork(referenceConfig(c.spec));
      const runner = new StageRunner(net, 0, 2);
      const refLoss: number[][] = [];
      const devLoss: number[][] = [];
      for (let b = 0; b < 2; b++) {
        refLoss.push((await referenceStep(runner, b, b * BATCH)).loss);
        let msg = validateFromServer('stage:input', stage0Input(b, b * BATCH));
        const losses: number[] = [];
        for (const host of hosts) {
          const replies: StageReplies = await host.run(msg);
          losses.push(...replies.metrics!.modules.map((m) => m.loss));
          if (host.layout.isLast) {
            expect(validateInbound('stage:done', replies.done)).toEqual({ jobId: 'job-1', stage: 2, batchId: b, phase: 'train' });
            expect(replies.output).toBeUndefined();
          } else {
            const out = validateInbound('stage:output', replies.output);
            // R1: the stage forwards c_{last}; at the first cut that is the image itself.
            expect(out.history!.map((f) => f.dtype)).toEqual([host.layout.stage === 0 ? 'uint8' : 'float32']);
            msg = relay(out, 0.05);
          }
        }
        devLoss.push(losses);
      }
      expect(devLoss).toEqual(refLoss);
      const devWeights = hosts.flatMap((h) => h.net.store.params.filter((p) => p.module >= h.layout.first && p.module <= h.layout.last).map((p) => p.variable.dataSync() as Float32Array));
      expect(devWeights).toEqual(weights(net));
      hosts.forEach((h) => h.dispose());
      runner.dispose();
      net.dispose();
    });
  }

  it('sends h at the job\'s wire dtype (float16) and the next stage accepts it', async () => {
    const spec16 = job('E', 2, { wire: 'float16' });
    const host0 = LocalStageHost.build(assignFor(spec16, 0, 0, 0));
    const host1 = LocalStageHost.build(assignFor(spec16, 1, 1, 1));
    const net = new GllNetwork(referenceConfig(spec16));
    const ref = await referenceStep(new StageRunner(net, 0, 0), 0, 0);
    const out = (await host0.run(validateFromServer('stage:input', stage0Input(0, 0)))).output!;
    expect(out.h!.dtype).toBe('float16');
    const h = decodeFrame(out.h!) as Float32Array;
    let worst = 0;
    for (let i = 0; i < h.length; i++) worst = Math.max(worst, Math.abs(h[i]! - ref.h[i]!) / Math.max(1, Math.abs(ref.h[i]!)));
    expect(worst).toBeLessThan(2e-3);
    expect((await host1.run(relay(validateInbound('stage:output', out), 0.05))).done).toBeDefined();
    [host0, host1].forEach((x) => x.dispose());
    net.dispose();
  });

  it('refuses to send an output above maxFrameBytes, leaking nothing', async () => {
    const host = LocalStageHost.build(assignFor(job('E'), 0, 0, 0, { maxFrameBytes: 1000 }));
    const tooLarge = /stage:output for batch \d carries \d+ bytes, above the limit of 1000/;
    await expect(host.run(validateFromServer('stage:input', stage0Input(0, 0)))).rejects.toThrow(tooLarge);
    // The first step made the momentum buffers; a second refusal adds nothing.
    const before = tf.memory().numTensors;
    await expect(host.run(validateFromServer('stage:input', stage0Input(1, 0)))).rejects.toThrow(tooLarge);
    expect(tf.memory().numTensors).toBe(before);
    host.dispose();
  });

  it('answers an eval batch with stage:eval for that batch and leaves the weights alone', async () => {
    const host = LocalStageHost.build(assignFor(job('E'), 0, 0, 0));
    const before = weights(host.net);
    const { augmentSeed: _s, lr: _l, ...rest } = stage0Input(5, 0, { phase: 'eval' });
    const replies = await host.run(validateFromServer('stage:input', rest));
    const ev = validateInbound('stage:eval', replies.eval);
    expect(ev).toMatchObject({ jobId: 'job-1', stage: 0, batchId: 5, epoch: 1 });
    expect(ev.modules[0]!.count).toBe(BATCH);
    expect(replies.metrics).toBeUndefined();
    // Eval does not augment: the image goes on exactly as it came.
    expect(decodeFrame(replies.output!.image!)).toEqual(images(0));
    expect(weights(host.net)).toEqual(before);
    host.dispose();
  });

  it('checkpointAfter yields a stage:checkpoint that loadStage restores at the next step', async () => {
    const host = LocalStageHost.build(assignFor(job('E'), 0, 0, 0));
    const replies = await host.run(validateFromServer('stage:input', stage0Input(7, 0, { checkpointAfter: true })));
    const ckpt = validateInbound('stage:checkpoint', replies.checkpoint);
    expect(ckpt).toMatchObject({ jobId: 'job-1', stage: 0, epoch: 1, step: 8 });
    const net = new GllNetwork(referenceConfig(job('E')));
    const runner = new StageRunner(net, 0, 0);
    expect(tf.tidy(() => loadStage(runner, ckpt.weights))).toBe(8);
    const mine = host.net.moduleParams(0).map((p) => p.variable.dataSync());
    expect(net.moduleParams(0).map((p) => p.variable.dataSync())).toEqual(mine);
    // And a device resuming from it starts from the same weights.
    const tensors = tf.memory().numTensors;
    const resumed = LocalStageHost.build(assignFor(job('E'), 0, 0, 0, { checkpoint: ckpt.weights, step: 8 }));
    expect(resumed.resumedStep).toBe(8);
    expect(resumed.net.moduleParams(0).map((p) => p.variable.dataSync())).toEqual(mine);
    resumed.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    host.dispose();
    runner.dispose();
    net.dispose();
  });

  it('refuses inputs that do not fit the stage, naming the tensor, and allocates nothing', async () => {
    const host = LocalStageHost.build(assignFor(job('E'), 1, 1, 1));
    const n = BATCH;
    const good = (): StageInput => ({
      jobId: 'job-1', stage: 1, batchId: 3, epoch: 1, step: 3, phase: 'train', lr: 0.1,
      labels: encodeFrame(labels(0), [n], 'uint8'),
      h: encodeFrame(new Float32Array(n * 8 * 8 * 32), [n, 8, 8, 32], 'float32'),
      image: encodeFrame(images(0), [n, SIZE, SIZE, 3], 'uint8'),
    });
    const before = tf.memory().numTensors;
    await expect(host.run({ ...good(), h: encodeFrame(new Float32Array(n * 4 * 4 * 32), [n, 4, 4, 32], 'float32') })).rejects.toThrow(
      'stage:input for batch 3: tensor h has shape [8,4,4,32], stage 1 (modules 1..1) expects [8,8,8,32]',
    );
    await expect(host.run({ ...good(), h: encodeFrame(new Float32Array(n * 8 * 8 * 32), [n, 8, 8, 32], 'float16') })).rejects.toThrow(/tensor h has dtype float16, stage 1 \(modules 1..1\) expects float32/);
    const { image: _i, ...noImage } = good();
    await expect(host.run(noImage)).rejects.toThrow(/tensor image is missing/);
    await expect(host.run({ ...good(), history: [encodeFrame(images(0), [n, SIZE, SIZE, 3], 'uint8')] })).rejects.toThrow(/history has 1 entries, stage 1 \(modules 1..1\) expects 0/);
    await expect(host.run({ ...good(), labels: encodeFrame(Uint8Array.from({ length: n }, () => 12), [n], 'uint8') })).rejects.toThrow(/labels\[0\] is 12; the job has 10 classes/);
    expect(tf.memory().numTensors).toBe(before);
    // Still usable afterwards.
    const replies = await host.run(good());
    expect(replies.done).toBeDefined();
    host.dispose();
  });

  it('keeps the tensor count flat across inputs and frees everything on dispose', async () => {
    const start = tf.memory().numTensors;
    const host = LocalStageHost.build(assignFor(job('R1E'), 0, 0, 0));
    // The first step creates the momentum buffers; count from the second on.
    await host.run(validateFromServer('stage:input', stage0Input(0, 0)));
    const settled = tf.memory().numTensors;
    for (let b = 1; b < 4; b++) {
      await host.run(validateFromServer('stage:input', stage0Input(b, b * 2)));
      expect(tf.memory().numTensors).toBe(settled);
    }
    await host.run(validateFromServer('stage:input', { ...stage0Input(4, 0), phase: 'eval', augmentSeed: undefined, lr: undefined }));
    expect(tf.memory().numTensors).toBe(settled);
    host.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('refuses an assignment whose inputShape or checkpoint does not fit, leaking nothing', () => {
    const start = tf.memory().numTensors;
    expect(() => LocalStageHost.build(assignFor(job('E'), 1, 1, 1, { inputShape: [16, 16, 16] }))).toThrow(
      'stage:assign: inputShape is [16,16,16], but stage 1 (modules 1..1) of resnet20 takes [8,8,32]',
    );
    const host0 = LocalStageHost.build(assignFor(job('E'), 0, 0, 0));
    const other = host0.checkpoint(0);
    host0.dispose();
    expect(() => LocalStageHost.build(assignFor(job('E'), 1, 1, 1, { checkpoint: other }))).toThrow(/checkpoint is for modules 0..0, this stage runs 1..1/);
    expect(tf.memory().numTensors).toBe(start);
  });
});
