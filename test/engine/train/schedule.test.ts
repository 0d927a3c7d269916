import { describe, expect, it } from 'vitest';
import { cosineLr, releaseLr, scheduledLr } from '../../../engine/train/schedule.js';

describe('learning-rate schedules', () => {
  it('cosine-step decays every step from lr to 0', () => {
    const at = (step: number) => scheduledLr(0.1, { name: 'cosine-step' }, { step, totalSteps: 100, epoch: 1, epochs: 2 });
    expect(at(0)).toBeCloseTo(0.1, 12);
    expect(at(50)).toBeCloseTo(0.05, 12);
    expect(at(100)).toBeCloseTo(0, 12);
    expect(at(1)).toBeLessThan(at(0));
    expect(cosineLr(0.1, 25, 100)).toBeCloseTo(at(25), 12);
  });

  it('cosine-epoch holds the rate within an epoch and starts at lr', () => {
    const at = (step: number, epoch: number) => scheduledLr(0.1, { name: 'cosine-epoch' }, { step, totalSteps: 40, epoch, epochs: 4 });
    expect(at(0, 1)).toBeCloseTo(0.1, 12);
    expect(at(9, 1)).toBe(at(0, 1));
    expect(at(10, 2)).toBeCloseTo(0.05 * (1 + Math.cos(Math.PI / 4)), 12);
  });

  it("release: the authors' warm-up from 0.01 over 10 epochs, then cosine over cosineEpochs, one value per epoch", () => {
    // Hand-evaluated from adjust_learning_rate(optimizer, epoch + 1) with lr 0.8 and 160 epochs.
    expect(releaseLr(0.8, 1, 160)).toBeCloseTo(0.01, 12);
    const c5 = 0.4 * (1 + Math.cos((Math.PI * 5) / 160));
    expect(releaseLr(0.8, 5, 160)).toBeCloseTo((c5 * 4) / 10 + (0.01 * 6) / 10, 12);
    const c10 = 0.4 * (1 + Math.cos((Math.PI * 10) / 160));
    expect(releaseLr(0.8, 10, 160)).toBeCloseTo((c10 * 9) / 10 + 0.001, 12);
    expect(releaseLr(0.8, 11, 160)).toBeCloseTo(0.4 * (1 + Math.cos((Math.PI * 11) / 160)), 12);
    expect(releaseLr(0.8, 160, 160)).toBeCloseTo(0, 12);
    const at = (step: number, epoch: number) => scheduledLr(0.8, { name: 'release', cosineEpochs: 160 }, { step, totalSteps: 999, epoch, epochs: 2 });
    expect(at(0, 2)).toBe(at(7, 2));
    expect(at(0, 2)).toBe(releaseLr(0.8, 2, 160));
    // Without cosineEpochs the cosine spans the run's own epochs.
    expect(scheduledLr(0.8, { name: 'release' }, { step: 0, totalSteps: 10, epoch: 2, epochs: 2 })).toBeCloseTo(0.001 * 9 + (0.4 * (1 + Math.cos(Math.PI)) * 1) / 10, 12);
  });
});
