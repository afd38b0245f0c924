// `xraygen train classifier`: the evaluation CNN on the real training split (see
// pipeline/evaluate/train-classifier.ts); a subcommand of `train`, added by train.ts's register().

import type { Command } from 'commander';
import { UsageError } from '../../engine/errors.ts';
import { classifierDefaults, probeNoiseSigma, trainClassifier } from '../evaluate/train-classifier.ts';
import { cliLabelNames } from '../data/labels.ts';
import { parseIntegerOption } from './options.ts';

interface ClassifierFlags {
  data: string;
  out: string;
  config: string;
  epochs: number;
  batch: number;
  lr: string;
  seed: number;
}

const percent = (value: number) => `${(100 * value).toFixed(1)}%`;

export function registerTrainClassifier(train: Command): void {
  train
    .command('classifier')
    .description('the small CNN that `evaluate` scores images with: three classes, 128x128, trained on the real training split')
    .requiredOption('--data <cache>', 'a prepared cache (xraygen prepare)')
    .option('--out <dir>', 'run folder', 'runs/classifier')
    .option('--config <name>', 'model size: default or tiny', classifierDefaults.config)
    .option('--epochs <n>', 'epochs to train', parseIntegerOption('--epochs', 1), classifierDefaults.epochs)
    .option('--batch <n>', 'batch size', parseIntegerOption('--batch', 1), classifierDefaults.batch)
    .option('--lr <rate>', 'peak Adam learning rate (cosine-decayed)', String(classifierDefaults.lr))
    .option('--seed <s>', 'seed for init, batches, augmentation and dropout', parseIntegerOption('--seed', 0), 0)
    .action(async (flags: ClassifierFlags) => {
      const lr = Number(flags.lr);
      if (flags.lr.trim() === '' || !(lr > 0 && lr < 1)) throw new UsageError(`--lr must be a number in (0, 1), got '${flags.lr}'`);
      const result = await trainClassifier({ data: flags.data, out: flags.out, config: flags.config, epochs: flags.epochs, batch: flags.batch, lr, seed: flags.seed, log: (line) => console.log(line) });
      const perClass = result.heldOut.perClass.map((value, k) => `${cliLabelNames[k]} ${percent(value)}`).join(', ');
      console.log(`trained ${result.steps} steps in ${result.seconds.toFixed(1)} s; held-out accuracy ${percent(result.heldOut.overall)} (${perClass}); train ${percent(result.train.overall)}; held-out with noise sigma ${probeNoiseSigma} ${percent(result.heldOutNoisy.overall)}; weights ${result.weights}`);
    });
}
