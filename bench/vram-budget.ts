// What a tight --vram budget costs: a batch fits when its live tensors do, and above its held peak the
// buffer pool evicts the buffers it keeps for reuse and creates them again when next needed
// (engine/memory.ts). In one process on one adapter, for the paper CGAN step (batch 64) and SRGAN
// step (batch 16, 96-px crops):
// 1. the plans (dry runs for this machine's adapter kind): held and live peaks without a budget, and
//    under the budget the held peak and the bytes a step evicts;
// 2. the same steps run without a budget (A) and under it (B), each on its own engine from the same
//    initialisation and batch, alternating (A first in even rounds): step wall times, the per-round
//    B/A ratio of the process's CPU time, the bytes B evicted a step, both peaks, and whether both
//    sides' metrics agree to the last digit. Figures: bench/RESULTS.md.
//
//   npx tsx bench/vram-budget.ts [--rounds R] [--only cgan|srgan] [--cgan-budget 500MiB] [--srgan-budget 700MiB] [--plans-only]

import { Command } from 'commander';
import { Engine } from '../engine/runtime.ts';
import { probeAdapterKind } from '../engine/device.ts';
import { formatBytes } from '../engine/memory.ts';
import { replaySteps, replayWithin } from '../pipeline/train/memory-plan.ts';
import { syntheticTrainOptions, trainingWorkload } from '../pipeline/commands/profile.ts';
import { alternateRounds, cpuRatioSummary } from './ab-rounds.ts';
import { byteSize, oneOf, wholeNumber } from './options.ts';

const flags = new Command('bench/vram-budget.ts')
  .option('--rounds <n>', 'timed steps per side', wholeNumber(1), 4)
  .option('--only <model>', "one model's step (cgan or srgan)", oneOf(['cgan', 'srgan']))
  .option('--cgan-budget <bytes>', "the CGAN step's budget", byteSize, 500 * 2 ** 20)
  .option('--srgan-budget <bytes>', "the SRGAN step's budget", byteSize, 700 * 2 ** 20)
  .option('--plans-only', 'the memory plans only (seconds; no kernels run)')
  .parse()
  .opts<{ rounds: number; only?: 'cgan' | 'srgan'; cganBudget: number; srganBudget: number; plansOnly?: boolean }>();

const models = flags.only ? [flags.only] : (['cgan', 'srgan'] as const);
const batchOf = { cgan: 64, srgan: 16 };
const budgetOf = { cgan: flags.cganBudget, srgan: flags.srganBudget };
const plannedFor = (await probeAdapterKind()) ?? 'gpu';

const fitting: Array<'cgan' | 'srgan'> = [];
for (const model of models) {
  const options = { ...syntheticTrainOptions(model, 'paper', batchOf[model], 0, false), plannedFor };
  const budget = budgetOf[model];
  const free = await replaySteps(options, batchOf[model]);
  const tight = await replayWithin(options, batchOf[model], budget);
  const plan = !tight ? 'does not fit (no steps run)' : `held ${formatBytes(tight.peakHeldBytes)}, ${formatBytes(tight.evictedBytesPerStep)} a step evicted`;
  if (tight) fitting.push(model);
  console.log(`plan (${plannedFor}), ${model} paper batch ${batchOf[model]}: unbounded held ${formatBytes(free.peakHeldBytes)}, live ${formatBytes(free.peakLiveBytes)}; in ${formatBytes(budget)}: ${plan}`);
}
if (flags.plansOnly) process.exit(0);

for (const model of fitting) {
  const budget = budgetOf[model];
  const engines = await Promise.all([Infinity, budget].map((maxBytes) => Engine.create({ seed: 0, maxBytes })));
  const runners = engines.map((engine) => trainingWorkload(engine, {
    workload: `train-${model}`, config: 'paper', steps: flags.rounds + 1, seed: 0, timestamps: false, groupBy: 'kernel', sr: false, fullImage: false,
  }));
  try {
    // Warm-up: pipeline compiles and first allocations.
    for (const runner of runners) await runner.runStep(0);
    const evictedBefore = engines[1]!.memory().evictedBytes;
    const metrics: unknown[] = [];
    const timed = await alternateRounds(flags.rounds, async (side, round) => (metrics[side] = await runners[side]!.runStep(round + 1)));
    const walls = [0, 1].map((side) => timed.map((round) => round[side]!.wallMs.toFixed(0)).join(' / '));
    const evicted = (engines[1]!.memory().evictedBytes - evictedBefore) / flags.rounds;
    const peaks = engines.map((engine) => formatBytes(engine.memory().peakHeldBytes));
    const same = JSON.stringify(metrics[0]) === JSON.stringify(metrics[1]);
    console.log(`train-${model}: step wall ms unbounded ${walls[0]}, in ${formatBytes(budget)} ${walls[1]}; ${cpuRatioSummary(timed)}`);
    console.log(`  evicted ${formatBytes(evicted)} a step; peak held unbounded ${peaks[0]}, budgeted ${peaks[1]}; metrics ${same ? 'identical' : `differ: ${JSON.stringify(metrics)}`}`);
  } finally {
    for (const runner of runners) runner.dispose();
    for (const engine of engines) engine.destroy();
  }
}
