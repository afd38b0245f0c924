// What folding BatchNorm into the conv before it buys at inference (models/batchnorm-layer.ts
// convBatchNorm, engine/ops/batchnorm-fold.ts): the forwards that generation runs, in eval mode under
// noGrad, with layerFusion.inferenceFolding off (A) and on (B), alternating in one process (A first in
// even rounds): the paper SRGAN generator on one SR chunk (2 x 128 x 128 -> 512 x 512) and the paper CGAN
// generator and discriminator on a batch of 16 (generation's draw and its real-threshold filter).
// Prints each side's best wall time, the median per-round B/A ratio of the process's CPU time, and the
// largest difference between the two sides' outputs. Weights are the seeded initialisation. Figures:
// bench/RESULTS.md.
//
//   npx tsx bench/inference-fusion.ts [--rounds R]

import { Command } from 'commander';
import { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import { noGrad } from '../engine/autograd.ts';
import { layerFusion } from '../models/batchnorm-layer.ts';
import { SrGenerator, srganConfigs } from '../models/srgan.ts';
import { CganDiscriminator, CganGenerator, cganConfigs } from '../models/cgan.ts';
import { alternateRounds, cpuRatioSummary, maxDifference } from './ab-rounds.ts';
import { wholeNumber } from './options.ts';

const { rounds } = new Command('bench/inference-fusion.ts')
  .option('--rounds <n>', 'alternating rounds per workload', wholeNumber(1), 6)
  .parse()
  .opts<{ rounds: number }>();

const engine = await Engine.create({ seed: 0 });
console.log(`adapter: ${engine.describe()}`);
const srGenerator = new SrGenerator(engine, srganConfigs.paper);
const generator = new CganGenerator(engine, cganConfigs.paper);
const discriminator = new CganDiscriminator(engine, cganConfigs.paper);
for (const module of [srGenerator, generator, discriminator]) module.initialize(1);
const lowRes = engine.keep(engine.fromArray(new Float32Array(2 * 128 * 128).map((_, i) => Math.sin(i)), [2, 1, 128, 128], 'f32', 'bench.lowRes'));
const z = engine.keep(engine.fromArray(new Float32Array(16 * 100).map((_, i) => Math.cos(i)), [16, 100], 'f32', 'bench.z'));
const labels = engine.keep(engine.fromArray(Int32Array.from({ length: 16 }, (_, i) => i % 3), [16], 'i32', 'bench.labels'));

const workloads: Array<[string, () => Tensor]> = [
  ['SRGAN generator, 2 x 128 px -> 512 px', () => srGenerator.forward(lowRes, false)],
  ['CGAN generator + discriminator, batch 16', () => discriminator.forward(generator.forward(z, labels, false), labels, false)],
];

/** One forward with folding on or off; its output read back (so the time includes the GPU's work). */
async function forward(run: () => Tensor, folding: boolean): Promise<Float32Array> {
  layerFusion.inferenceFolding = folding;
  const out = engine.tidy(() => noGrad(engine, run));
  const [values] = await engine.read([out]);
  out.dispose();
  return values as Float32Array;
}

for (const [name, run] of workloads) {
  // Warm-up: both sides' pipelines compiled before timing.
  const outputs = [await forward(run, false), await forward(run, true)];
  const timed = await alternateRounds(rounds, (side) => forward(run, side === 1));
  const best = (side: 0 | 1) => Math.min(...timed.map((t) => t[side].wallMs));
  console.log(`${name}: separate ${best(0).toFixed(0)} ms, folded ${best(1).toFixed(0)} ms (best of ${rounds}); ${cpuRatioSummary(timed)}; max |A - B| ${maxDifference(outputs[0]!, outputs[1]!).toExponential(2)}`);
}
layerFusion.inferenceFolding = true;
engine.destroy();
