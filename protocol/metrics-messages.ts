import { z } from 'zod';
import { MAX_MODULES, counterSchema, jobIdSchema, lossValueSchema, moduleIndexSchema, stageIndexSchema } from './schema-common.js';

function correctWithinCount(m: { correct: number | null; count: number }, ctx: z.RefinementCtx): void {
  if (m.correct !== null && m.correct > m.count) ctx.addIssue({ code: 'custom', path: ['correct'], message: `correct ${m.correct} exceeds count ${m.count}` });
}

const moduleStatSchema = z
  .strictObject({
    module: moduleIndexSchema,
    /** Mean local loss over the batch (NaN/Infinity allowed: divergence is reported). */
    loss: lossValueSchema,
    /** Examples the module's head classified right; null when it cannot classify (a supcon head). */
    correct: counterSchema.nullable(),
    count: counterSchema,
  })
  .superRefine(correctWithinCount);
export type ModuleStat = z.infer<typeof moduleStatSchema>;

/** device -> server, after each training batch: one entry per module of the stage. */
export const stageMetricsSchema = z.strictObject({
  jobId: jobIdSchema,
  stage: stageIndexSchema,
  batchId: counterSchema,
  epoch: counterSchema,
  step: counterSchema,
  modules: z.array(moduleStatSchema).min(1).max(MAX_MODULES),
  samplesPerSec: z.number().min(0),
  /** Peak memory per module of the stage, bytes. */
  peakBytes: z.array(counterSchema).max(MAX_MODULES),
});
export type StageMetrics = z.infer<typeof stageMetricsSchema>;

/**
 * device -> server, for every eval batch: each module's local-head counts on
 * that batch; the coordinator sums them over the test set. The last module's
 * entry on the last stage is the network's test accuracy.
 */
export const stageEvalSchema = z.strictObject({
  jobId: jobIdSchema,
  stage: stageIndexSchema,
  batchId: counterSchema,
  epoch: counterSchema,
  modules: z.array(moduleStatSchema).min(1).max(MAX_MODULES),
});
export type StageEval = z.infer<typeof stageEvalSchema>;

/** device -> server: the stage's weights, opaque to the server, handed back in `stage:assign.checkpoint`. */
export const stageCheckpointSchema = z.strictObject({
  jobId: jobIdSchema,
  stage: stageIndexSchema,
  epoch: counterSchema,
  step: counterSchema,
  weights: z.instanceof(Uint8Array),
});
export type StageCheckpoint = z.infer<typeof stageCheckpointSchema>;
