// What keeping the training tape's activations in f16 buys and costs (engine/ops/half-storage.ts;
// `xraygen train --saved-activations f16`), in one process on one adapter:
// 1. memory plans (dry runs: allocations only, for a GPU adapter): the planned peak of the paper CGAN
//    step (batch 64) and SRGAN step (batch 16, 96-px crops), and for the SRGAN on whole 512-px images
//    the largest micro-batch of a batch of 16 that fits a 4 GiB budget, in f32 and in f16;
// 2. the same training steps run with each setting (A = f32, B = f16), each on its own engine from the
//    same initialisation and batch, alternating (A first in even rounds): step wall times, the per-round
//    B/A ratio of the process's CPU time, each engine's peak GPU bytes, and both sides' metrics after
//    the last round. Figures: bench/RESULTS.md.
//
//   npx tsx bench/saved-activations.ts [--rounds R] [--only cgan|srgan] [--plans-only]

import { Command } from 'commander';
import { Engine, type SavedActivationStorage } from '../engine/runtime.ts';
import { formatBytes } from '../engine/memory.ts';
import { plannedPeakBytes, largestFittingMicroBatch } from '../pipeline/train/memory-plan.ts';
import { syntheticTrainOptions, trainingWorkload } from '../pipeline/commands/profile.ts';
import { alternateRounds } from './ab-rounds.ts';
import { oneOf, wholeNumber } from './options.ts';

const { rounds, only, plansOnly } = new Command('bench/saved-activations.ts')
  .option('--rounds <n>', 'timed steps per side', wholeNumber(1), 4)
  .option('--only <model>', "one model's step (cgan or srgan)", oneOf(['cgan', 'srgan']))
  .option('--plans-only', 'the memory plans only (seconds; no kernels run)')
  .parse()
  .opts<{ rounds: number; only?: 'cgan' | 'srgan'; plansOnly?: boolean }>();

const modes: SavedActivationStorage[] = ['f32', 'f16'];
const models = only ? [only] : (['cgan', 'srgan'] as const);
const batchOf = { cgan: 64, srgan: 16 };
const budget = 4 * 2 ** 30;

for (const model of models) {
  const peaks = await Promise.all(modes.map((savedActivations) => plannedPeakBytes(
    { ...syntheticTrainOptions(model, 'paper', batchOf[model], 0, false), savedActivations, plannedFor: 'gpu' }, batchOf[model])));
  console.log(`plan, ${model} paper batch ${batchOf[model]}: f32 ${formatBytes(peaks[0]!)}, f16 ${formatBytes(peaks[1]!)} (${(peaks[1]! / peaks[0]!).toFixed(3)}x)`);
}
if (models.includes('srgan')) {
  const micro: number[] = [];
  for (const savedActivations of modes) {
    const options = { ...syntheticTrainOptions('srgan', 'paper', 16, 0, true), savedActivations, plannedFor: 'gpu' as const };
    micro.push(await largestFittingMicroBatch(options, 16, budget));
  }
  console.log(`plan, srgan paper whole 512-px images, batch 16 in ${formatBytes(budget)}: largest micro-batch f32 ${micro[0]}, f16 ${micro[1]}`);
}
if (plansOnly) process.exit(0);

for (const model of models) {
  const engines = await Promise.all(modes.map(() => Engine.create({ seed: 0 })));
  const runners = modes.map((savedActivations, i) => trainingWorkload(engines[i]!, {
    workload: `train-${model}`, config: 'paper', steps: rounds + 1, seed: 0, timestamps: false, groupBy: 'kernel', sr: false, fullImage: false, savedActivations,
  }));
  try {
    // Warm-up: pipeline compiles and first allocations.
    for (const runner of runners) await runner.runStep(0);
    const metrics: unknown[] = [];
    const timed = await alternateRounds(rounds, async (side, round) => (metrics[side] = await runners[side]!.runStep(round + 1)));
    const list = (values: number[], digits: number) => values.map((v) => v.toFixed(digits)).join(' / ');
    const walls = [0, 1].map((side) => timed.map((round) => round[side]!.wallMs));
    const ratios = timed.map(([a, b]) => b.cpuMs / a.cpuMs);
    const peaks = engines.map((engine) => formatBytes(engine.memory().peakHeldBytes));
    console.log(`train-${model}: step wall ms f32 ${list(walls[0]!, 0)}, f16 ${list(walls[1]!, 0)}; f16/f32 CPU time per round ${list(ratios, 3)}; peak held f32 ${peaks[0]}, f16 ${peaks[1]}`);
    console.log(`  metrics after step ${rounds}: f32 ${JSON.stringify(metrics[0])}\n                       f16 ${JSON.stringify(metrics[1])}`);
  } finally {
    for (const runner of runners) runner.dispose();
    for (const engine of engines) engine.destroy();
  }
}
