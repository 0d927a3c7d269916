import { DEFAULT_MODEL_CONFIG, type ModelConfig } from './config.js';
import type { JobSpec } from '../../protocol/job-spec.js';
import type { StageDataInfoMessage } from '../../protocol/stage-messages.js';

/** What `stage:assign.data` says about the data set: what the network is built for and how images are normalised. */
export type StageDataInfo = StageDataInfoMessage;

/**
 * The network a job describes, for the data it runs on: the same mapping as
 * `contsup train` (cli/train-command.ts modelConfigFor), from the wire
 * job spec instead of CLI options, so every device and the in-process trainer
 * build identical weights from `job.seed`.
 */
export function modelConfigForJob(job: JobSpec, data: StageDataInfo): ModelConfig {
  // The backbone and its pooling assume square inputs (inputSize is one number).
  if (data.height !== data.width) {
    throw new Error(`images are ${data.height}x${data.width}; the ResNet family here needs square images`);
  }
  return {
    ...DEFAULT_MODEL_CONFIG,
    model: job.model,
    modules: job.modules,
    context: job.context,
    loss: job.loss,
    head: job.head,
    decoder: job.decoder,
    partition: job.partition,
    inputSize: data.height,
    inChannels: data.channels,
    numClasses: data.numClasses,
    seed: job.seed,
    // BN momentum / eps of the job's recipe, only where it names them (absent: the defaults).
    ...(job.recipe?.bnMomentum === undefined ? {} : { bnMomentum: job.recipe.bnMomentum }),
    ...(job.recipe?.bnEps === undefined ? {} : { bnEps: job.recipe.bnEps }),
    ...(job.recipe?.auxNets === undefined ? {} : { auxNets: job.recipe.auxNets }),
  };
}
