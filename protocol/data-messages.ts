import { z } from 'zod';
import { FEATURE_DTYPES, MAX_MODULES, counterSchema, frameSchema, jobIdSchema, phaseSchema, stageIndexSchema } from './schema-common.js';
import type { TensorFrame } from './tensor-frame.js';

const labelsFrame = frameSchema({ dtypes: ['uint8', 'int32'], rank: 1 });
const imageFrame = frameSchema({ dtypes: ['uint8'], rank: 4 });
const featureFrame = frameSchema({ dtypes: FEATURE_DTYPES, rank: 4 });
// At the first boundary the combined input is the image itself, so a history
// entry may be uint8 as well as a wire float.
const historyFrame = frameSchema({ dtypes: [...FEATURE_DTYPES, 'uint8'], rank: 4 });

const batchHeader = {
  jobId: jobIdSchema,
  stage: stageIndexSchema,
  batchId: counterSchema,
  epoch: counterSchema,
  step: counterSchema,
  phase: phaseSchema,
};

interface BatchTensors {
  labels: TensorFrame;
  images?: TensorFrame | undefined;
  h?: TensorFrame | undefined;
  image?: TensorFrame | undefined;
  history?: TensorFrame[] | undefined;
}

/** Every tensor of a batch must hold the same number of examples as `labels`. */
function checkBatchSize(m: BatchTensors, ctx: z.RefinementCtx): void {
  const n = m.labels.shape[0];
  const check = (frame: TensorFrame | undefined, path: (string | number)[]): void => {
    if (frame !== undefined && frame.shape[0] !== n) {
      ctx.addIssue({ code: 'custom', path, message: `batch dimension is ${frame.shape[0]} but labels hold ${n} examples` });
    }
  };
  check(m.images, ['images', 'shape', 0]);
  check(m.h, ['h', 'shape', 0]);
  check(m.image, ['image', 'shape', 0]);
  m.history?.forEach((f, i) => check(f, ['history', i, 'shape', 0]));
}

/**
 * server -> device: one batch for stage `stage`. Stage 0 gets raw `images`
 * (uint8 NHWC) + `augmentSeed`; later stages get `h`, the previous stage's
 * boundary features, plus the context tensors the job's mode needs.
 */
export const stageInputSchema = z
  .strictObject({
    ...batchHeader,
    labels: labelsFrame,
    images: imageFrame.optional(),
    /** Seed for stage 0's random crop/flip of this batch (uint32); stage 0 train batches only. */
    augmentSeed: z.int().min(0).max(0xffffffff).optional(),
    /** Learning rate of this batch's optimiser step; train batches only. */
    lr: z.number().gt(0).optional(),
    /** Send `stage:checkpoint` after this batch (train batches only). */
    checkpointAfter: z.boolean().optional(),
    h: featureFrame.optional(),
    /** uint8 augmented image for E context. */
    image: imageFrame.optional(),
    /** Combined inputs of previous modules for R<n> context, oldest first. */
    history: z.array(historyFrame).max(MAX_MODULES).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.stage === 0) {
      if (m.images === undefined) ctx.addIssue({ code: 'custom', path: ['images'], message: 'missing: stage 0 needs the raw images' });
      if (m.h !== undefined) ctx.addIssue({ code: 'custom', path: ['h'], message: 'stage 0 takes images, not h' });
    } else {
      if (m.h === undefined) ctx.addIssue({ code: 'custom', path: ['h'], message: `missing: stage ${m.stage} needs the previous stage's features` });
      if (m.images !== undefined) ctx.addIssue({ code: 'custom', path: ['images'], message: 'only stage 0 takes raw images' });
      if (m.augmentSeed !== undefined) ctx.addIssue({ code: 'custom', path: ['augmentSeed'], message: 'only stage 0 augments' });
    }
    if (m.phase === 'train') {
      if (m.lr === undefined) ctx.addIssue({ code: 'custom', path: ['lr'], message: 'missing: a train batch carries its learning rate' });
      if (m.stage === 0 && m.augmentSeed === undefined) ctx.addIssue({ code: 'custom', path: ['augmentSeed'], message: 'missing: stage 0 train batches carry their augmentation seed' });
    } else {
      for (const key of ['lr', 'augmentSeed', 'checkpointAfter'] as const) {
        if (m[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'eval batches take no updates, augmentation or checkpoints' });
      }
    }
    checkBatchSize(m, ctx);
  });
export type StageInput = z.infer<typeof stageInputSchema>;

/**
 * device -> server: stage `stage` finished batch `batchId` and hands its
 * output on for stage + 1. The last stage sends `stage:done` instead.
 */
export const stageOutputSchema = z
  .strictObject({
    ...batchHeader,
    labels: labelsFrame,
    h: featureFrame.optional(),
    image: imageFrame.optional(),
    history: z.array(historyFrame).max(MAX_MODULES).optional(),
  })
  .superRefine(checkBatchSize);
export type StageOutput = z.infer<typeof stageOutputSchema>;

/** device -> server: batch finished at this stage; frees one credit (the last stage's only answer to an input). */
export const stageDoneSchema = z.strictObject({
  jobId: jobIdSchema,
  stage: stageIndexSchema,
  batchId: counterSchema,
  phase: phaseSchema,
});
export type StageDone = z.infer<typeof stageDoneSchema>;
