// `xraygen prepare`: preprocess a ChestX-ray8-layout directory once into a resumable binary cache.

import type { Command } from 'commander';
import { formatPrepareSummary, prepareCache } from '../data/prepare.ts';
import { parseIntegerOption } from './options.ts';

interface PrepareFlags {
  data: string;
  out: string;
  writePng?: string;
  limitPerClass?: number;
  workers?: number;
  seed?: number;
  officialSplit: boolean;
}

export function register(program: Command): void {
  program
    .command('prepare')
    .description('preprocess ChestX-ray8 images (box2 -> CLAHE -> 512 HR, box4 -> 128 LR) into a cache; resumes if interrupted')
    .requiredOption('--data <dir>', 'data directory: Data_Entry_2017.csv and images*/ folders')
    .requiredOption('--out <dir>', 'cache directory to write (or resume)')
    .option('--write-png <dir>', 'also write <dir>/hr/<Image Index> (512) and <dir>/lr/<Image Index> (128) PNGs')
    .option('--limit-per-class <n>', 'at most n images per class (default 5000, as in the paper)', parseIntegerOption('--limit-per-class', 1))
    .option('--workers <k>', 'worker threads (default: one per core; 0 = main thread)', parseIntegerOption('--workers', 0))
    .option('--seed <s>', 'seed for the per-class cap and the patient-wise split (default 0)', parseIntegerOption('--seed', 0))
    .option('--no-official-split', 'ignore train_val_list.txt / test_list.txt even when present')
    .action(async (flags: PrepareFlags) => {
      const summary = await prepareCache({
        dataDir: flags.data,
        outDir: flags.out,
        pngDir: flags.writePng,
        limitPerClass: flags.limitPerClass,
        workers: flags.workers,
        seed: flags.seed,
        useOfficialSplit: flags.officialSplit,
      });
      for (const line of formatPrepareSummary(summary)) console.log(line);
    });
}
