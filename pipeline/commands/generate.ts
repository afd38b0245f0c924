// `xraygen generate`: labelled synthetic chest X-rays with the real-threshold filter and 4x SR.

import type { Command } from 'commander';
import { UsageError } from '../../engine/errors.ts';
import { runGenerate, type GenerateOptions } from '../generate/job.ts';
import { parseIntegerOption } from './options.ts';

/** Commander's names for GenerateOptions: `--class` and a threshold still to be parsed. */
type GenerateFlags = Omit<GenerateOptions, 'className' | 'threshold'> & { class: string; threshold: string };

export function register(program: Command): void {
  program
    .command('generate')
    .description('generate labelled synthetic chest X-rays (CGAN + real-threshold filter + SRGAN x4) in the ChestX-ray8 layout')
    .option('--weights <run|file>', 'CGAN weights: a training run folder or a .safetensors file (default: shipped models/weights/cgan.safetensors)')
    .option('--sr-weights <file>', 'SRGAN weights (default: shipped models/weights/srgan.safetensors)')
    .requiredOption('--class <name>', 'no-finding, mass, pneumonia, or all (round-robin)')
    .requiredOption('--count <n>', 'images to make (for all: over the three classes)', parseIntegerOption('--count', 1))
    .option('--threshold <t>', 'keep images with sigmoid(D(x, y)) >= t', '0.9')
    .option('--max-tries <t>', 'draws per image before giving up', parseIntegerOption('--max-tries', 1), 20)
    .option('--no-sr', 'write the 128x128 images without super-resolution')
    .option('--seed <s>', 'seed of the latent codes', parseIntegerOption('--seed', 0), 0)
    .option('--batch <b>', 'images per GPU batch', parseIntegerOption('--batch', 1), 16)
    .requiredOption('--out <dir>', 'output folder (images/, Data_Entry_2017.csv, manifest.jsonl)')
    .option('--save-tensors <file>', 'also write z, labels, images and D logits as safetensors')
    .option('--shard <i/n>', 'make only the i-th of n equal index ranges (for many machines)')
    .action(async (flags: GenerateFlags) => {
      const threshold = Number(flags.threshold);
      if (flags.threshold.trim() === '' || !Number.isFinite(threshold)) throw new UsageError(`--threshold must be a number in [0, 1], got '${flags.threshold}'`);
      const summary = await runGenerate({
        weights: flags.weights, srWeights: flags.srWeights, className: flags.class, count: flags.count, threshold,
        maxTries: flags.maxTries, sr: flags.sr, seed: flags.seed, batch: flags.batch, out: flags.out, saveTensors: flags.saveTensors, shard: flags.shard,
      }, (line) => console.log(line));
      console.log(`wrote ${summary.written} image(s) (indices ${summary.indexRange[0]}..${summary.indexRange[1] - 1}) to ${flags.out}; start-up ${summary.startupSeconds.toFixed(2)} s, generation ${summary.generationSeconds.toFixed(2)} s`);
      if (summary.written === 0) console.log('no image reached the threshold: lower --threshold or raise --max-tries');
    });
}
