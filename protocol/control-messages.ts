import { z } from 'zod';
import { counterSchema, jobIdSchema } from './schema-common.js';

/** server -> device: stop all work on the job now (user stop, failure elsewhere, finished). */
export const jobStopSchema = z.strictObject({
  jobId: jobIdSchema,
  reason: z.string().max(1024),
});
export type JobStop = z.infer<typeof jobStopSchema>;

/**
 * server -> client: a message was refused or something failed. `code` is
 * one of PROTOCOL_ERROR_CODES for protocol violations; receivers must accept
 * other codes too, so it is typed as a string.
 */
export const errorMessageSchema = z.strictObject({
  code: z.string().min(1).max(64),
  message: z.string(),
  /** The event that was refused, when there is one. */
  event: z.string().optional(),
  batchId: counterSchema.optional(),
});
export type ErrorMessage = z.infer<typeof errorMessageSchema>;
