import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSynthetic } from '../../../engine/data/synthetic.js';
import type { ModelConfig } from '../../../engine/model/config.js';
import { GllNetwork } from '../../../engine/model/network.js';
import { disposePrepared, prepareBatch } from '../../../engine/train/batches.js';
import { StageRunner, disposeStageTensors } from '../../../engine/train/stage-runner.js';
import { useTestBackend } from '../../helpers/backend.js';

/**
 * Made once by bench/fidelity/make-step-fixture.ts: the authors' released
 * PyTorch model, loaded with contsup's seeded initial weights, trained 5 SGD
 * steps (Nesterov 0.9, weight decay 1e-4 on every parameter) on the same
 * synthetic batches; per-module local losses, then the final loss of one
 * eval-mode pass (BN running statistics, context in eval mode).
 */
interface Fixture {
  data: { seed: number; trainCount: number; testCount: number };
  batchSize: number;
  lrs: number[];
  runs: Array<{ config: ModelConfig; losses: number[][]; evalLoss: number }>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/release-steps.json', import.meta.url), 'utf8')) as Fixture;
const data = generateSynthetic(fixture.data);
const px = 32 * 32 * 3;
const nets: GllNetwork[] = [];
/**
 * 1e-4 for the first two steps. Later, float32 rounding grows in the last
 * module of the R-context runs (to ~5e-4 by step 5; torch's own float32 run
 * drifts from the float64 reference by ~1e-4 there), so steps 3-5 check 1e-3
 * (docs/fidelity.md). What this catches: the architecture, the heads, the
 * context paths, the losses and gradient isolation. Weight decay and BN
 * running statistics act too slowly to show in 5 steps; sgd.test.ts and
 * batch-norm.test.ts check them against torch directly.
 */
const tolerance = (step: number): number => (step < 2 ? 1e-4 : 1e-3);

beforeAll(useTestBackend);
afterAll(() => nets.forEach((n) => n.dispose()));

function batchOf(net: GllNetwork, s: number) {
  const b = fixture.batchSize;
  return prepareBatch(net, data.train.images.slice(s * b * px, (s + 1) * b * px), data.train.labels.slice(s * b, (s + 1) * b), [32, 32, 3], data.preprocess);
}

describe("the first 5 steps match the authors' release", () => {
  for (const run of fixture.runs) {
    it(`K = ${run.config.modules} ${run.config.context}: every module's loss at every step, and the eval-mode loss after them, match the release`, async () => {
      const net = new GllNetwork(run.config);
      nets.push(net);
      const runner = new StageRunner(net, 0, net.moduleCount - 1);
      for (let s = 0; s < fixture.lrs.length; s++) {
        const batch = batchOf(net, s);
        const { output, metrics } = await runner.train(batch.input, batch.labels, batch.target, fixture.lrs[s]!);
        disposeStageTensors(output);
        disposePrepared(batch);
        expect(metrics.map((m) => m.loss)).toHaveLength(run.losses[s]!.length);
        metrics.forEach((m, k) => expect(Math.abs(m.loss - run.losses[s]![k]!), `step ${s} module ${k}`).toBeLessThan(tolerance(s)));
      }
      const batch = batchOf(net, 0);
      const { output, metrics } = await runner.evaluate(batch.input, batch.labels, batch.target);
      disposeStageTensors(output);
      disposePrepared(batch);
      expect(Math.abs(metrics[metrics.length - 1]!.loss - run.evalLoss)).toBeLessThan(1e-3);
      runner.dispose();
    });
  }
});
