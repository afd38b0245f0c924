// `xraygen train cgan|srgan`: headless GAN training (see pipeline/train/loop.ts).

import type { Command } from 'commander';
import { UsageError } from '../../engine/errors.ts';
import type { AdapterKind } from '../../engine/device.ts';
import type { SavedActivationStorage } from '../../engine/runtime.ts';
import { runTraining, type StopFlag } from '../train/loop.ts';
import { planMemory } from '../train/memory-plan.ts';
import type { TrainOptions } from '../train/setup.ts';
import { parseIntegerOption, parseSavedActivations, parseVram } from './options.ts';
import { defaultTuningPath, tuningPathFlag } from '../conv-tuning-file.ts';
import { registerTrainClassifier } from './train-classifier.ts';

interface TrainFlags {
  data: string;
  out?: string;
  config: string;
  epochs?: number;
  steps?: number;
  batch?: number;
  lr?: string;
  lrDecay?: number;
  seed: number;
  vram: string;
  resume?: boolean;
  sampleEvery: number;
  checkpointEvery: number;
  keep: number;
  dryRun?: boolean;
  planFor?: string;
  fullImage?: boolean;
  pretrainSteps?: number;
  microBatch?: number;
  phantomCount: number;
  autotune?: string | boolean;
  ema?: string;
  mismatch?: string;
  savedActivations?: SavedActivationStorage;
  recomputeActivations?: boolean;
}

function parseDecay(value: string): number {
  const decay = Number(value);
  if (!(decay >= 0 && decay < 1)) throw new UsageError(`--ema must be a decay in [0, 1), got '${value}'`);
  return decay;
}

function parseMismatchWeight(value: string): number {
  const weight = Number(value);
  if (!(weight >= 0 && weight <= 10)) throw new UsageError(`--mismatch must be a weight in [0, 10], got '${value}'`);
  return weight;
}

function parseAdapterKind(value: string): AdapterKind {
  if (value !== 'cpu' && value !== 'gpu') throw new UsageError(`--plan-for must be 'cpu' or 'gpu', got '${value}'`);
  return value;
}

function parseLearningRate(value: string): number {
  const lr = Number(value);
  if (!(lr > 0 && lr < 1)) throw new UsageError(`--lr must be a number in (0, 1), got '${value}'`);
  return lr;
}

export function register(program: Command): void {
  const train = program.command('train').description('train the conditional GAN or the SRGAN headlessly');
  for (const model of ['cgan', 'srgan'] as const) {
    const command = train
      .command(model)
      .description(model === 'cgan' ? 'conditional GAN: 128x128 images for a finding' : 'SRGAN: 128 -> 512 super-resolution (MSE pre-training, then adversarial)')
      .requiredOption('--data <dir|cache|phantom>', "a ChestX-ray8 folder, a prepared cache, or 'phantom' for the built-in synthetic set")
      .option('--out <dir>', 'run folder (default runs/<model>)')
      .option('--config <name>', 'model size: paper, small, mini (CGAN) or tiny', 'paper')
      .option('--epochs <n>', 'epochs to train', parseIntegerOption('--epochs', 1))
      .option('--steps <n>', 'steps to train (instead of --epochs)', parseIntegerOption('--steps', 1))
      .option('--batch <n>', `batch size (default ${model === 'cgan' ? 64 : 16})`, parseIntegerOption('--batch', 1))
      .option('--lr <rate>', `Adam learning rate (default ${model === 'cgan' ? '2e-4' : '1e-4'})`)
      .option('--lr-decay <step>', 'from this step on, decay the learning rates linearly to zero at the last step (default: constant)', parseIntegerOption('--lr-decay', 0))
      .option('--seed <s>', 'seed for init, batches, noise and dropout', parseIntegerOption('--seed', 0), 0)
      .option('--vram <bytes>', 'hard GPU memory budget, e.g. 4GiB', '4GiB')
      .option('--resume', 'continue from the last checkpoint in --out')
      .option('--sample-every <n>', 'steps between sample grids', parseIntegerOption('--sample-every', 1), 100)
      .option('--checkpoint-every <n>', 'steps between checkpoints', parseIntegerOption('--checkpoint-every', 1), 500)
      .option('--keep <k>', 'checkpoints kept', parseIntegerOption('--keep', 1), 3)
      .option('--dry-run', 'print the planned peak GPU bytes as JSON and exit')
      .option('--plan-for <kind>', "plan memory for a 'cpu' (software) or 'gpu' adapter; weight-gradient launches, and so their buffers, are sized by kind (default: this machine's)")
      .option('--phantom-count <n>', 'images in the phantom set made for --data phantom', parseIntegerOption('--phantom-count', 30), 300)
      .option('--autotune [file]', `time each conv shape's kernel variants once (after step 1) and keep the fastest; choices cached in FILE (default ${defaultTuningPath()})`)
      .option('--saved-activations <f32|f16>', "how activations are kept for backward: 'f16' halves their bytes (0.8-0.9x the planned peak of the paper models), the arithmetic stays f32", parseSavedActivations, 'f32')
      .option('--recompute-activations', "rebuild in backward each conv input that a BatchNorm (+ activation, + dropout) made, from what that BatchNorm keeps anyway, instead of keeping it: 0.8x the live peak of the paper models for an element-wise pass more, the same results bit for bit");
    if (model === 'cgan') {
      command.option('--mismatch <weight>', 'also train D to call real images with a wrong label fake, with this loss weight (e.g. 1); default none, as in the paper');
      command.option('--ema <decay>', 'keep an exponential moving average of the generator weights (e.g. 0.999) for samples and weights.safetensors; default none, as in the paper');
    }
    if (model === 'srgan') {
      command.option('--full-image', 'train on whole 512/128 pairs instead of 96/24 crops');
      command.option('--micro-batch <n>', 'images per pass, accumulating gradients over the batch (default: the batch, or what fits --vram)', parseIntegerOption('--micro-batch', 1));
      command.option('--pretrain-steps <n>', 'MSE-only steps before the adversarial phase (default: a quarter of the run)', parseIntegerOption('--pretrain-steps', 0));
    }
    command.action(async (flags: TrainFlags) => {
      const options: TrainOptions = {
        model,
        data: flags.data,
        out: flags.out ?? `runs/${model}`,
        config: flags.config,
        epochs: flags.epochs,
        steps: flags.steps,
        batch: flags.batch,
        lr: flags.lr === undefined ? undefined : parseLearningRate(flags.lr),
        lrDecayStart: flags.lrDecay,
        seed: flags.seed,
        vramBytes: parseVram(flags.vram),
        resume: Boolean(flags.resume),
        sampleEvery: flags.sampleEvery,
        checkpointEvery: flags.checkpointEvery,
        keepCheckpoints: flags.keep,
        dryRun: Boolean(flags.dryRun),
        plannedFor: flags.planFor === undefined ? undefined : parseAdapterKind(flags.planFor),
        fullImage: Boolean(flags.fullImage),
        pretrainSteps: flags.pretrainSteps,
        microBatch: flags.microBatch,
        phantomCount: flags.phantomCount,
        autotune: tuningPathFlag(flags.autotune),
        savedActivations: flags.savedActivations,
        recomputeActivations: Boolean(flags.recomputeActivations),
        ema: flags.ema === undefined ? undefined : parseDecay(flags.ema),
        mismatch: flags.mismatch === undefined ? undefined : parseMismatchWeight(flags.mismatch),
        log: (line) => console.log(line),
      };
      if (options.epochs !== undefined && options.steps !== undefined) throw new UsageError('give --epochs or --steps, not both');
      if (options.dryRun) {
        console.log(JSON.stringify(await planMemory(options)));
        return;
      }
      const stop: StopFlag = { stop: false };
      const onSignal = (signal: string) => {
        if (stop.stop) process.exit(130);
        stop.stop = true;
        console.error(`${signal}: finishing this step and writing a checkpoint (again to abort)`);
      };
      const onInt = () => onSignal('SIGINT');
      const onTerm = () => onSignal('SIGTERM');
      process.on('SIGINT', onInt).on('SIGTERM', onTerm);
      try {
        const result = await runTraining(options, stop);
        console.log(`${result.interrupted ? 'stopped' : 'finished'} at step ${result.steps} in ${result.seconds.toFixed(1)} s; checkpoint ${result.checkpoint}; peak GPU ${(result.peakBytes / 2 ** 20).toFixed(1)} MiB (planned ${(result.plannedPeakBytes / 2 ** 20).toFixed(1)} MiB)`);
      } finally {
        process.off('SIGINT', onInt).off('SIGTERM', onTerm);
      }
    });
  }
  registerTrainClassifier(train);
}
