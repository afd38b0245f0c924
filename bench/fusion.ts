// What fusing BatchNorm with the activation after it buys: paper-config CGAN (batch 64) and SRGAN
// (batch 16, 96-px crops) training steps with models/batchnorm-layer.ts's layerFusion on and off,
// alternating in one process, plus the dry-run peak GPU bytes of both. Figures: bench/RESULTS.md.
//
// Usage: npx tsx bench/fusion.ts [--rounds R]

import { Command } from 'commander';
import { Engine } from '../engine/runtime.ts';
import { layerFusion } from '../models/batchnorm-layer.ts';
import { syntheticTrainOptions, trainingWorkload } from '../pipeline/commands/profile.ts';
import { plannedPeakBytes } from '../pipeline/train/memory-plan.ts';
import { defaults as trainDefaults } from '../pipeline/train/setup.ts';
import { wholeNumber } from './options.ts';

const { rounds } = new Command('bench/fusion.ts')
  .option('--rounds <n>', 'alternating rounds per model', wholeNumber(1), 3)
  .parse()
  .opts<{ rounds: number }>();
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function stepMs(engine: Engine, workload: 'train-cgan' | 'train-srgan', fused: boolean, steps: number): Promise<number[]> {
  layerFusion.batchNormActivation = fused;
  const runner = trainingWorkload(engine, { workload, config: 'paper', steps, seed: 0, timestamps: false, groupBy: 'kernel', sr: false, fullImage: false });
  try {
    const samples: number[] = [];
    for (let index = 0; index < steps; index++) {
      const start = performance.now();
      await runner.runStep(index);
      samples.push(performance.now() - start);
    }
    return samples;
  } finally {
    runner.dispose();
  }
}

const engine = await Engine.create({ seed: 0 });
console.log(`adapter: ${engine.describe()}`);
for (const [model, workload] of [['cgan', 'train-cgan'], ['srgan', 'train-srgan']] as const) {
  const batch = trainDefaults[model].batch;
  const options = syntheticTrainOptions(model, 'paper', batch, 0, false);
  const peaks: Record<string, number> = {};
  for (const fused of [false, true]) {
    layerFusion.batchNormActivation = fused;
    peaks[fused ? 'fused' : 'separate'] = await plannedPeakBytes(options, batch);
  }
  // Warm-up (pipeline compiles) for both, then alternate so drift hits both sides alike.
  await stepMs(engine, workload, false, 1);
  await stepMs(engine, workload, true, 1);
  const times: Record<string, number[]> = { separate: [], fused: [] };
  for (let round = 0; round < rounds; round++) {
    times.separate.push(...(await stepMs(engine, workload, false, 2)));
    times.fused.push(...(await stepMs(engine, workload, true, 2)));
  }
  const median = (values: number[]) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const [separate, fused] = [median(times.separate), median(times.fused)];
  console.log(`${model.padEnd(6)} step median ms: separate ${separate.toFixed(0)}, fused ${fused.toFixed(0)} (${(separate / fused).toFixed(3)}x); ` +
    `planned peak: separate ${mib(peaks.separate)}, fused ${mib(peaks.fused)} (${mib(peaks.separate - peaks.fused)} less)`);
}
layerFusion.batchNormActivation = true;
engine.destroy();
