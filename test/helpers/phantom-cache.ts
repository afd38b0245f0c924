// A small prepared phantom cache for training and generation tests, built once per process.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePhantomDataset } from '../../pipeline/phantom/dataset.ts';
import { prepareCache } from '../../pipeline/data/prepare.ts';

let built: Promise<string> | null = null;

/** A cache of `count` phantom images rendered at 512 px (prepared like the real thing). */
export function phantomCache(count = 24): Promise<string> {
  built ??= (async () => {
    const root = mkdtempSync(join(tmpdir(), 'xraygen-phantom-'));
    await writePhantomDataset({ outDir: join(root, 'data'), count, seed: 3, size: 512, workers: 0, quiet: true });
    await prepareCache({ dataDir: join(root, 'data'), outDir: join(root, 'cache'), workers: 0, quiet: true });
    return join(root, 'cache');
  })();
  return built;
}
