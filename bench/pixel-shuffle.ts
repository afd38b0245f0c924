// pixelShuffle and pixelUnshuffle (its backward) at the SRGAN's upsampling sizes: generation
// (64 channels x 4 -> 256 px and 512 px, 64 MiB each: the storage-binding limit is 128 MiB) and training on 96-px crops (batch 16). Median of 5
// after a warm-up, with GB/s counting one read and one write of every element. Figures:
// bench/RESULTS.md (the before/after there ran this script in the old and new trees, alternating).
//
// Usage: npx tsx bench/pixel-shuffle.ts

import { Command } from 'commander';
import { Engine } from '../engine/runtime.ts';
import { pixelShuffle, pixelUnshuffle } from '../engine/ops/layout.ts';
import type { Tensor } from '../engine/tensor.ts';

// No flags: --help describes the script, anything else is refused.
new Command('bench/pixel-shuffle.ts').description('pixelShuffle / pixelUnshuffle at the SRGAN\'s upsampling sizes').parse();

const shapes: Array<[string, number[]]> = [
  ['generate up.0 [4, 256, 128, 128]', [4, 256, 128, 128]],
  ['generate up.1 [1, 256, 256, 256]', [1, 256, 256, 256]],
  ['train up.1 [16, 256, 48, 48]', [16, 256, 48, 48]],
];

const engine = await Engine.create({ seed: 0 });
console.log(`adapter: ${engine.describe()}`);
for (const [name, shape] of shapes) {
  const deep = engine.empty(shape, 'f32', 'deep');
  const shuffled = pixelShuffle(deep, 2);
  const cells: string[] = [];
  for (const [op, run] of [['shuffle', () => pixelShuffle(deep, 2)], ['unshuffle', () => pixelUnshuffle(shuffled, 2)]] as Array<[string, () => Tensor]>) {
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const start = performance.now();
      const out = run();
      await engine.sync();
      if (i > 0) times.push(performance.now() - start);
      out.dispose();
    }
    const ms = times.sort((a, b) => a - b)[2];
    cells.push(`${op} ${ms.toFixed(1)} ms (${((8 * deep.size) / ms / 1e6).toFixed(2)} GB/s)`);
  }
  console.log(`${name.padEnd(36)} ${cells.join('   ')}`);
  deep.dispose();
  shuffled.dispose();
}
engine.destroy();
