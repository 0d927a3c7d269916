import { z } from 'zod';
import { JOB_DEFAULTS } from './defaults.js';
import { CONTEXT_PATTERN, parseContext, DATASET_NAMES, FOLDER_DATASET_PATTERN, HEAD_NAMES, MAX_DATASET_SPEC_LENGTH, LOSS_NAMES, MODEL_NAMES, PARTITION_KINDS, WIRE_DTYPES, type ModelName } from './names.js';
import { parseOrThrow } from './schema-errors.js';
import type { DatasetSpec } from './names.js';
import { MAX_MODULES } from './schema-common.js';
import { jobRecipeSchema } from './job-recipe.js';

/**
 * Most modules a model can be cut into: cuts go after the stem and after any
 * BasicBlock but the last, and a CIFAR ResNet-d has (d - 2) / 2 blocks.
 */
export function maxModulesFor(model: ModelName): number {
  const depth = Number(model.slice('resnet'.length));
  return Math.min(MAX_MODULES, (depth - 2) / 2 + 1);
}

/**
 * Upper bounds of the job spec's open-ended fields (docs/runtime.md, Limits):
 * generous for any real run, small enough that no field makes the
 * coordinator loop, allocate or wait without end.
 */
export const JOB_SPEC_LIMITS = {
  epochs: 10_000,
  batchSize: 4096,
  lr: 100,
  /** Examples per split; the data set itself may have fewer (the smaller count is used). */
  limitExamples: 10_000_000,
  checkpointEvery: 10_000_000,
  /** One stage per device, and a job has at most MAX_MODULES stages. */
  minDevices: MAX_MODULES,
} as const;

const jobSpecShape = {
  model: z.enum(MODEL_NAMES),
  modules: z.int().min(1).max(MAX_MODULES),
  context: z.string().regex(CONTEXT_PATTERN, 'must be R0, E, R<n> or R<n>E with n >= 1, e.g. R1E'),
  loss: z.enum(LOSS_NAMES),
  head: z.enum(HEAD_NAMES),
  decoder: z.boolean(),
  // A folder is read on the coordinator's machine, so its path must be absolute there.
  dataset: z.custom<DatasetSpec>(
    (v) => typeof v === 'string' && ((DATASET_NAMES as readonly string[]).includes(v) || (v.length <= MAX_DATASET_SPEC_LENGTH && FOLDER_DATASET_PATTERN.test(v))),
    `must be one of ${DATASET_NAMES.join(', ')} or folder:<absolute path> of at most ${MAX_DATASET_SPEC_LENGTH} characters (e.g. folder:/data/pets)`,
  ),
  epochs: z.int().min(1).max(JOB_SPEC_LIMITS.epochs),
  // Batches of fewer than 2 images are dropped (BatchNorm needs 2), so 1 would train nothing.
  batchSize: z.int().min(2).max(JOB_SPEC_LIMITS.batchSize),
  lr: z.number().gt(0).max(JOB_SPEC_LIMITS.lr),
  limitTrain: z.int().min(2).max(JOB_SPEC_LIMITS.limitExamples).optional(),
  limitTest: z.int().min(1).max(JOB_SPEC_LIMITS.limitExamples).optional(),
  wire: z.enum(WIRE_DTYPES),
  minDevices: z.int().min(1).max(JOB_SPEC_LIMITS.minDevices),
  /** Any safe integer (z.int() refuses the rest). */
  seed: z.int(),
  /** Global steps between checkpoints; 0 = only at the end of each epoch. */
  checkpointEvery: z.int().min(0).max(JOB_SPEC_LIMITS.checkpointEvery),
  partition: z.enum(PARTITION_KINDS),
  /** Optional: absent (or any field of it absent) trains with contsup's defaults (protocol/job-recipe.ts). */
  recipe: jobRecipeSchema.optional(),
};

function checkModulesFitModel(spec: { model: ModelName; modules: number; context: string }, ctx: z.RefinementCtx): void {
  const max = maxModulesFor(spec.model);
  if (spec.modules > max) {
    ctx.addIssue({ code: 'custom', path: ['modules'], message: `${spec.model} can be cut into at most ${max} modules, got ${spec.modules}` });
  }
  // R<n> supplies the n previous module inputs: more than the job has modules is never useful,
  // and an unbounded n (R99999999999999999999) would size per-batch history without end.
  // Refinements also run when a field failed: a context the pattern refused is reported already.
  if (typeof spec.context !== 'string' || !CONTEXT_PATTERN.test(spec.context)) return;
  const recent = parseContext(spec.context).recent;
  if (recent > spec.modules) {
    ctx.addIssue({ code: 'custom', path: ['context'], message: `R<n> needs n <= modules (${spec.modules}), got n = ${spec.context.slice(1).replace(/E$/, '')}` });
  }
}

/** A complete job description as it travels in `stage:assign`: every field present, nothing defaulted. */
export const jobSpecSchema = z.strictObject(jobSpecShape).superRefine(checkModulesFitModel);
export type JobSpec = z.infer<typeof jobSpecSchema>;

/** Defaults applied to REST input by `parseJobSpec`. */
export const JOB_SPEC_DEFAULTS = JOB_DEFAULTS satisfies Omit<JobSpec, 'limitTrain' | 'limitTest'>;

const jobSpecInputSchema = z
  .strictObject({
    ...jobSpecShape,
    model: jobSpecShape.model.default(JOB_SPEC_DEFAULTS.model),
    modules: jobSpecShape.modules.default(JOB_SPEC_DEFAULTS.modules),
    context: jobSpecShape.context.default(JOB_SPEC_DEFAULTS.context),
    loss: jobSpecShape.loss.default(JOB_SPEC_DEFAULTS.loss),
    head: jobSpecShape.head.default(JOB_SPEC_DEFAULTS.head),
    decoder: jobSpecShape.decoder.default(JOB_SPEC_DEFAULTS.decoder),
    dataset: jobSpecShape.dataset.default(JOB_SPEC_DEFAULTS.dataset),
    epochs: jobSpecShape.epochs.default(JOB_SPEC_DEFAULTS.epochs),
    batchSize: jobSpecShape.batchSize.default(JOB_SPEC_DEFAULTS.batchSize),
    lr: jobSpecShape.lr.default(JOB_SPEC_DEFAULTS.lr),
    wire: jobSpecShape.wire.default(JOB_SPEC_DEFAULTS.wire),
    minDevices: jobSpecShape.minDevices.default(JOB_SPEC_DEFAULTS.minDevices),
    seed: jobSpecShape.seed.default(JOB_SPEC_DEFAULTS.seed),
    checkpointEvery: jobSpecShape.checkpointEvery.default(JOB_SPEC_DEFAULTS.checkpointEvery),
    partition: jobSpecShape.partition.default(JOB_SPEC_DEFAULTS.partition),
  })
  .superRefine(checkModulesFitModel);

/**
 * REST input -> JobSpec: missing fields take JOB_SPEC_DEFAULTS; anything
 * present must already be right (no string-to-number coercion). Throws
 * ProtocolError('bad-schema') listing every bad field and its allowed values.
 */
export function parseJobSpec(input: unknown): JobSpec {
  return parseOrThrow(jobSpecInputSchema, input, 'job spec');
}
