// What keeping the training tape's activations in f16 (engine/ops/half-storage.ts; `xraygen train
// --saved-activations f16`), or rebuilding those a BatchNorm made (engine/ops/recompute.ts;
// `--recompute-activations`), buys and costs, in one process on one adapter:
// 1. memory plans (dry runs: allocations only, for a GPU adapter): the planned peak of the paper CGAN
//    step (batch 64) and SRGAN step (batch 16, 96-px crops), and for the SRGAN on whole 512-px images
//    the largest micro-batch of a batch of 16 that fits a 4 GiB budget, for A (f32, all kept) and B;
// 2. the same training steps run with each setting, each on its own engine from the same
//    initialisation and batch, alternating (A first in even rounds): step wall times, the per-round
//    B/A ratio of the process's CPU time, each engine's peak GPU bytes, and both sides' metrics after
//    the last round. Figures: bench/RESULTS.md.
//
//   npx tsx bench/saved-activations.ts [--b f16|recompute|f16+recompute] [--rounds R] [--only cgan|srgan] [--plans-only]

import { Command } from 'commander';
import { Engine } from '../engine/runtime.ts';
import { formatBytes } from '../engine/memory.ts';
import { replaySteps, largestFittingMicroBatch } from '../pipeline/train/memory-plan.ts';
import { syntheticTrainOptions, trainingWorkload } from '../pipeline/commands/profile.ts';
import { alternateRounds } from './ab-rounds.ts';
import { oneOf, wholeNumber } from './options.ts';

const settings = {
  f32: { savedActivations: 'f32', recomputeActivations: false },
  f16: { savedActivations: 'f16', recomputeActivations: false },
  recompute: { savedActivations: 'f32', recomputeActivations: true },
  'f16+recompute': { savedActivations: 'f16', recomputeActivations: true },
} as const;
type SettingName = keyof typeof settings;

const { b, rounds, only, plansOnly } = new Command('bench/saved-activations.ts')
  .option('--b <setting>', 'side B: f16, recompute or f16+recompute (side A: f32, everything kept)', oneOf(['f16', 'recompute', 'f16+recompute'] as const), 'f16')
  .option('--rounds <n>', 'timed steps per side', wholeNumber(1), 4)
  .option('--only <model>', "one model's step (cgan or srgan)", oneOf(['cgan', 'srgan']))
  .option('--plans-only', 'the memory plans only (seconds; no kernels run)')
  .parse()
  .opts<{ b: SettingName; rounds: number; only?: 'cgan' | 'srgan'; plansOnly?: boolean }>();

const modes: SettingName[] = ['f32', b];
const models = only ? [only] : (['cgan', 'srgan'] as const);
const batchOf = { cgan: 64, srgan: 16 };
const budget = 4 * 2 ** 30;

for (const model of models) {
  const replays = await Promise.all(modes.map((mode) => replaySteps(
    { ...syntheticTrainOptions(model, 'paper', batchOf[model], 0, false), ...settings[mode], plannedFor: 'gpu' }, batchOf[model])));
  const [held, live] = [replays.map((r) => r.peakHeldBytes), replays.map((r) => r.peakLiveBytes)];
  console.log(`plan, ${model} paper batch ${batchOf[model]}: held f32 ${formatBytes(held[0]!)}, ${b} ${formatBytes(held[1]!)} (${(held[1]! / held[0]!).toFixed(3)}x); live ${formatBytes(live[0]!)}, ${formatBytes(live[1]!)} (${(live[1]! / live[0]!).toFixed(3)}x)`);
}
if (models.includes('srgan')) {
  const micro: number[] = [];
  for (const mode of modes) {
    const options = { ...syntheticTrainOptions('srgan', 'paper', 16, 0, true), ...settings[mode], plannedFor: 'gpu' as const };
    micro.push(await largestFittingMicroBatch(options, 16, budget));
  }
  console.log(`plan, srgan paper whole 512-px images, batch 16 in ${formatBytes(budget)}: largest micro-batch f32 ${micro[0]}, ${b} ${micro[1]}`);
}
if (plansOnly) process.exit(0);

for (const model of models) {
  const engines = await Promise.all(modes.map(() => Engine.create({ seed: 0 })));
  const runners = modes.map((mode, i) => trainingWorkload(engines[i]!, {
    workload: `train-${model}`, config: 'paper', steps: rounds + 1, seed: 0, timestamps: false, groupBy: 'kernel', sr: false, fullImage: false, ...settings[mode],
  }));
  try {
    // Warm-up: pipeline compiles and first allocations.
    for (const runner of runners) await runner.runStep(0);
    const metrics: unknown[] = [];
    const timed = await alternateRounds(rounds, async (side, round) => (metrics[side] = await runners[side]!.runStep(round + 1)));
    const list = (values: number[], digits: number) => values.map((v) => v.toFixed(digits)).join(' / ');
    const walls = [0, 1].map((side) => timed.map((round) => round[side]!.wallMs));
    const ratios = timed.map(([sideA, sideB]) => sideB.cpuMs / sideA.cpuMs);
    const peaks = engines.map((engine) => `${formatBytes(engine.memory().peakHeldBytes)} (live ${formatBytes(engine.memory().peakLiveBytes)})`);
    console.log(`train-${model}: step wall ms f32 ${list(walls[0]!, 0)}, ${b} ${list(walls[1]!, 0)}; ${b}/f32 CPU time per round ${list(ratios, 3)}; peak held f32 ${peaks[0]}, ${b} ${peaks[1]}`);
    console.log(`  metrics after step ${rounds}: f32 ${JSON.stringify(metrics[0])}\n  ${b.padStart(18)} ${JSON.stringify(metrics[1])}`);
  } finally {
    for (const runner of runners) runner.dispose();
    for (const engine of engines) engine.destroy();
  }
}
