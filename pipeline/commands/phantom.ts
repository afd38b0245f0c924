// `xraygen phantom`: write the built-in synthetic data set (procedural radiographs, not patient data).

import type { Command } from 'commander';
import { findingNames, labelIds } from '../data/labels.ts';
import { writePhantomDataset } from '../phantom/dataset.ts';
import { parseIntegerOption } from './options.ts';

interface PhantomFlags {
  out: string;
  count: number;
  seed?: number;
  workers?: number;
}

export function register(program: Command): void {
  program
    .command('phantom')
    .description('write a synthetic data set in the ChestX-ray8 layout (procedural chest radiographs, not patient data)')
    .requiredOption('--out <dir>', 'directory to write')
    .requiredOption('--count <n>', 'images of the three classes, balanced (a few filtered extra rows are added)', parseIntegerOption('--count', 1))
    .option('--seed <s>', 'seed (default 0); the same seed gives the same files', parseIntegerOption('--seed', 0))
    .option('--workers <k>', 'worker threads (default: one per core; 0 = main thread)', parseIntegerOption('--workers', 0))
    .action(async (flags: PhantomFlags) => {
      const summary = await writePhantomDataset({ outDir: flags.out, count: flags.count, seed: flags.seed, workers: flags.workers });
      const perClass = labelIds.map((label) => `${findingNames[label]} ${summary.perClass[label]}`).join(', ');
      console.log(`wrote ${summary.rows.length} images of ${summary.patients} patients to ${summary.outDir} in ${summary.seconds.toFixed(1)} s`);
      console.log(`  ${perClass}; ${summary.extraRows} multi-label or unrelated rows (filtered out by prepare)`);
    });
}
