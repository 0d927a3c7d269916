import { describe, expect, it, beforeAll } from 'vitest';
import { generateSynthetic } from '../../../engine/data/synthetic.js';
import { DEFAULT_MODEL_CONFIG } from '../../../engine/model/config.js';
import { GllNetwork } from '../../../engine/model/network.js';
import { InProcessTrainer, type StepReport } from '../../../engine/train/gll-trainer.js';
import { useTestBackend } from '../../helpers/backend.js';

beforeAll(useTestBackend);

describe('in-process trainer', () => {
  it('loss falls on the synthetic set within a few hundred samples (ResNet-20, K = 2, E)', async () => {
    const data = generateSynthetic({ seed: 5, trainCount: 384, testCount: 128 });
    const net = new GllNetwork({ ...DEFAULT_MODEL_CONFIG, model: 'resnet20', modules: 2, context: 'E' });
    const trainer = new InProcessTrainer(net, { epochs: 1, batchSize: 32, lr: 0.1, seed: 5 });
    const steps: StepReport[] = [];
    const reports = await trainer.fit(data, { onStep: (r) => steps.push(r) });
    const lastLoss = (r: StepReport): number => r.metrics[r.metrics.length - 1].loss;
    const first = steps.slice(0, 3).reduce((s, r) => s + lastLoss(r), 0) / 3;
    const last = steps.slice(-3).reduce((s, r) => s + lastLoss(r), 0) / 3;
    expect(last).toBeLessThan(first * 0.85);
    expect(reports[0].moduleErrors).toHaveLength(1);
    expect(reports[0].testError).toBeLessThan(85); // chance is 90%
    trainer.dispose();
    net.dispose();
  });
});
