import { z } from 'zod';
import { jobSpecSchema } from './job-spec.js';
import { peerNextSchema, peerPrevSchema } from './peer-messages.js';
import { counterSchema, jobIdSchema, moduleIndexSchema, shapeSchema, stageIndexSchema } from './schema-common.js';

/** How stage 0 augments and every stage normalises images (engine/data PreprocessSpec). */
export const preprocessSpecSchema = z.strictObject({
  /** Per-channel mean in 0..1 units, applied after x / 255. */
  mean: z.array(z.number()).min(1).max(4),
  /** Per-channel std in 0..1 units. */
  std: z.array(z.number().gt(0)).min(1).max(4),
  /** Pixels padded on every side before the random crop back to H x W. */
  pad: z.int().min(0).max(64),
  padMode: z.enum(['reflect', 'zero']),
  /** Random horizontal flip with p = 0.5. */
  flip: z.boolean(),
});
export type PreprocessSpecMessage = z.infer<typeof preprocessSpecSchema>;

/** The data set a job runs on, as far as building and feeding the network needs it. */
export const stageDataInfoSchema = z
  .strictObject({
    height: z.int().min(1),
    width: z.int().min(1),
    channels: z.int().min(1).max(4),
    numClasses: z.int().min(2),
    preprocess: preprocessSpecSchema,
  })
  .superRefine((d, ctx) => {
    for (const key of ['mean', 'std'] as const) {
      if (d.preprocess[key].length !== d.channels) {
        ctx.addIssue({ code: 'custom', path: ['preprocess', key], message: `has ${d.preprocess[key].length} entries for ${d.channels} channels` });
      }
    }
  });
export type StageDataInfoMessage = z.infer<typeof stageDataInfoSchema>;

/**
 * server -> device: run modules firstModule..lastModule (inclusive) of the
 * job as stage `stage`. Answered by `stage:ready` once the model is built.
 */
export const stageAssignSchema = z
  .strictObject({
    jobId: jobIdSchema,
    stage: stageIndexSchema,
    firstModule: moduleIndexSchema,
    lastModule: moduleIndexSchema,
    job: jobSpecSchema,
    /** Image size, class count and preprocessing of the job's data set. */
    data: stageDataInfoSchema,
    /** Shape of one example entering the stage, NO batch dimension, NHWC order: [32,32,3] for stage 0 on CIFAR. */
    inputShape: shapeSchema.min(1),
    /** Weights to resume from, as this stage last sent them in `stage:checkpoint`. */
    checkpoint: z.instanceof(Uint8Array).optional(),
    /** Global optimiser step to resume at (0 for a fresh job); drives the lr schedule. */
    step: counterSchema,
    /** Largest total tensor bytes one `stage:output` may carry. */
    maxFrameBytes: z.int().min(1),
    /** Direct plane: send outputs to the successor's device instead of the coordinator (docs/runtime.md). */
    next: peerNextSchema.optional(),
    /** Direct plane: inputs come from the predecessor's device, which must present this token. */
    prev: peerPrevSchema.optional(),
  })
  .superRefine((m, ctx) => {
    if (m.firstModule > m.lastModule) {
      ctx.addIssue({ code: 'custom', path: ['lastModule'], message: `lastModule ${m.lastModule} is before firstModule ${m.firstModule}` });
    }
    if (m.lastModule >= m.job.modules) {
      ctx.addIssue({ code: 'custom', path: ['lastModule'], message: `lastModule ${m.lastModule} does not exist: the job has ${m.job.modules} modules` });
    }
    if (m.stage > m.firstModule) {
      ctx.addIssue({ code: 'custom', path: ['stage'], message: `stage ${m.stage} cannot start at module ${m.firstModule}: every stage holds at least one module` });
    }
  });
export type StageAssign = z.infer<typeof stageAssignSchema>;

/** device -> server: the assigned stage is built and may receive `stage:input`. */
export const stageReadySchema = z.strictObject({ jobId: jobIdSchema, stage: stageIndexSchema });
export type StageReady = z.infer<typeof stageReadySchema>;

/** server -> device: drop the stage (job finished, stopped or re-planned); free its memory. */
export const stageReleaseSchema = z.strictObject({ jobId: jobIdSchema, stage: stageIndexSchema });
export type StageRelease = z.infer<typeof stageReleaseSchema>;
