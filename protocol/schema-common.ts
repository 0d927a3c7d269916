import { z } from 'zod';
import { WIRE_DTYPES } from './names.js';
import { MAX_TENSOR_RANK, TENSOR_DTYPES, frameContentProblem, frameStructureProblem, type TensorDtype, type TensorFrame } from './tensor-frame.js';

/** Upper bound on modules per job (and so on stages and Rn's n). */
export const MAX_MODULES = 64;

export const jobIdSchema = z.string().min(1).max(128);
/** A coordinator-given device id (device:welcome, the peers of stage:assign, peer:hello). */
export const deviceIdSchema = z.string().min(1).max(128);
export const stageIndexSchema = z.int().min(0).max(MAX_MODULES - 1);
export const moduleIndexSchema = z.int().min(0).max(MAX_MODULES - 1);
export const counterSchema = z.int().min(0);
export const phaseSchema = z.enum(['train', 'eval']);
export type Phase = z.infer<typeof phaseSchema>;

/**
 * Losses are reported as they are, NaN and Infinity included: a diverged
 * module must show up on the dashboard, not get its metrics refused.
 */
export const lossValueSchema = z.custom<number>((v) => typeof v === 'number', {
  message: 'expected a number (NaN and Infinity are allowed for a diverged loss)',
});

export const shapeSchema = z.array(z.int().min(0)).max(MAX_TENSOR_RANK);

interface FrameRule {
  dtypes?: readonly TensorDtype[];
  rank?: number;
}

/**
 * A tensor frame: structure checked field by field, then the byte-length and
 * scale rules shared with `validateFrame`, then the per-field dtype/rank rule.
 */
export function frameSchema(rule: FrameRule = {}): z.ZodType<TensorFrame> {
  return z
    .strictObject({
      dtype: z.enum(TENSOR_DTYPES),
      shape: shapeSchema,
      bytes: z.instanceof(Uint8Array),
      scale: z.number().min(0).optional(),
    })
    .superRefine((frame, ctx) => {
      // zod runs refinements even after field issues; those are reported
      // already, and the byte rules below only make sense on a sound frame.
      if (frameStructureProblem(frame) !== undefined) return;
      const problem = frameContentProblem(frame);
      if (problem !== undefined) {
        ctx.addIssue({ code: 'custom', message: `tensor ${problem}` });
        return;
      }
      if (rule.dtypes !== undefined && !rule.dtypes.includes(frame.dtype)) {
        ctx.addIssue({ code: 'custom', path: ['dtype'], message: `dtype ${frame.dtype} is not allowed here; allowed: ${rule.dtypes.join(', ')}` });
      }
      if (rule.rank !== undefined && frame.shape.length !== rule.rank) {
        ctx.addIssue({ code: 'custom', path: ['shape'], message: `shape has rank ${frame.shape.length}, expected rank ${rule.rank}` });
      }
    });
}

/** Float dtypes activations travel as (the job's `wire`). */
export const FEATURE_DTYPES = WIRE_DTYPES satisfies readonly TensorDtype[];
