// `xraygen profile train-cgan|train-srgan|generate`: runs a few steps of a real workload under the
// kernel profiler (engine/profile/) and prints a per-kernel table; `--trace` writes the Chrome
// trace-event JSON. The workloads use synthetic inputs and fresh (or given) weights: no data set.

import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Engine, type SavedActivationStorage } from '../../engine/runtime.ts';
import { UsageError } from '../../engine/errors.ts';
import { formatBytes } from '../../engine/memory.ts';
import { Profiler, profileSteps } from '../../engine/profile/profiler.ts';
import { formatTable, kernelTable, summarize, type GroupBy, type KernelRow, type ProfileSummary } from '../../engine/profile/table.ts';
import { buildTrace, type ChromeTrace } from '../../engine/profile/trace.ts';
import { CganDiscriminator, CganGenerator, cganConfigs, discriminatorSpecs, generatorSpecs, type CganConfig } from '../../models/cgan.ts';
import { SrGenerator, srganConfigs, srGeneratorSpecs, type SrganConfig } from '../../models/srgan.ts';
import { createTrainer, defaults, type TrainOptions } from '../train/setup.ts';
import { generateImages } from '../generate/sample.ts';
import { configFor, readWeights } from '../generate/weights.ts';
import { parseIntegerOption, parseSavedActivations, parseVram } from './options.ts';
import { defaultTuningPath, finishAutotune, startAutotune, tuningPathFlag } from '../conv-tuning-file.ts';

export const workloads = ['train-cgan', 'train-srgan', 'generate'] as const;
export type Workload = (typeof workloads)[number];

export interface ProfileOptions {
  workload: Workload;
  config: string;
  steps: number;
  batch?: number;
  seed: number;
  /** false: time on the CPU even where timestamp-query exists (the fallback path). */
  timestamps: boolean;
  groupBy: GroupBy;
  /** generate: CGAN / SRGAN weights files (default: random initialisation). */
  weights?: string;
  srWeights?: string;
  sr: boolean;
  /** train-srgan: whole 512/128 images instead of 96/24 crops. */
  fullImage: boolean;
  /** Engine options, e.g. disableFeatures for tests. */
  disableFeatures?: string[];
  /** Conv autotuning first: the tuning file to read and extend (pipeline/conv-tuning-file.ts). */
  autotune?: string;
  /** Training workloads: how the tape keeps activations (default 'f32'). */
  savedActivations?: SavedActivationStorage;
  recomputeActivations?: boolean;
  /** A GPU memory budget for the buffer pool (default: none): under it, what the pool evicts shows. */
  vramBytes?: number;
}

export interface ProfileReport {
  rows: KernelRow[];
  summary: ProfileSummary;
  table: string;
  trace: ChromeTrace;
  /** mapAsync readbacks made by the profiler itself. */
  profilerReadbacks: number;
  /** The buffer pool's high-water marks over the run (warm-up step included), and the bytes it evicted a profiled step. */
  memory: { peakHeldBytes: number; peakLiveBytes: number; evictedBytesPerStep: number };
}

export type StepRunner = { runStep: (index: number) => Promise<unknown>; dispose: () => void; description: string };

function presetOf<C>(presets: Record<string, C>, name: string): C {
  const config = presets[name];
  if (!config) throw new UsageError(`--config must be one of ${Object.keys(presets).join(', ')}, got '${name}'`);
  return config;
}

/** Training options for steps on synthetic batches: no data, no run folder, no budget. */
export function syntheticTrainOptions(model: 'cgan' | 'srgan', config: string, batch: number, seed: number, fullImage: boolean): TrainOptions {
  return {
    model, data: 'synthetic', out: '', config, batch, seed, vramBytes: Number.MAX_SAFE_INTEGER,
    resume: false, sampleEvery: 0, checkpointEvery: 0, keepCheckpoints: 0, dryRun: false, fullImage,
    // The adversarial phase: the complete SRGAN step (G and D).
    pretrainSteps: 0, phantomCount: 0, log: () => {},
  };
}

/** A training step on a synthetic batch (also bench/kernels.ts's steps section). */
export function trainingWorkload(engine: Engine, options: ProfileOptions): StepRunner {
  const model = options.workload === 'train-cgan' ? 'cgan' : 'srgan';
  const batch = options.batch ?? defaults[model].batch;
  const trainOptions = { ...syntheticTrainOptions(model, options.config, batch, options.seed, options.fullImage), savedActivations: options.savedActivations, recomputeActivations: options.recomputeActivations };
  const trainer = createTrainer(engine, trainOptions, null, options.steps + 1);
  const data = trainer.syntheticBatch(batch);
  return {
    runStep: (index) => trainer.step(data, index),
    dispose: () => trainer.dispose(),
    description: `${options.workload} --config ${options.config} --batch ${batch}`,
  };
}

function generateWorkload(engine: Engine, options: ProfileOptions): StepRunner {
  const batch = options.batch ?? 16;
  const weights = options.weights ? readWeights(options.weights) : null;
  const cganConfig = weights ? configFor<CganConfig>(weights, cganConfigs, generatorSpecs, 'generator', 'CGAN generator') : presetOf<CganConfig>(cganConfigs, options.config);
  if (weights) configFor<CganConfig>(weights, { found: cganConfig }, discriminatorSpecs, 'discriminator', 'CGAN discriminator');
  const srWeights = options.sr && options.srWeights ? readWeights(options.srWeights) : null;
  const srConfig = srWeights ? configFor<SrganConfig>(srWeights, srganConfigs, srGeneratorSpecs, 'generator', 'SRGAN generator') : presetOf<SrganConfig>(srganConfigs, options.config);
  const generator = new CganGenerator(engine, cganConfig);
  const discriminator = new CganDiscriminator(engine, cganConfig);
  const srGenerator = options.sr ? new SrGenerator(engine, srConfig) : null;
  if (weights) {
    generator.loadStateDict(weights.file);
    discriminator.loadStateDict(weights.file);
  } else {
    generator.initialize(options.seed);
    discriminator.initialize(options.seed);
  }
  if (srWeights) srGenerator!.loadStateDict(srWeights.file);
  else srGenerator?.initialize(options.seed);
  // Threshold 0 and one try: every step draws, filters and upsamples exactly one batch.
  const items = Array.from({ length: batch }, (_, index) => ({ index, label: index % cganConfig.numClasses }));
  return {
    runStep: (index) => generateImages(engine, { generator, discriminator, srGenerator }, { items, seed: options.seed + index, threshold: 0, maxTries: 1, batch, sr: options.sr }),
    dispose: () => [generator, discriminator, srGenerator].forEach((module) => module?.dispose()),
    description: `generate --config ${options.config} --batch ${batch}${options.sr ? '' : ' --no-sr'}${weights ? ` --weights ${weights.path}` : ''}`,
  };
}

/** The library call behind the command (tests call it directly). */
export async function runProfile(options: ProfileOptions): Promise<ProfileReport> {
  const engine = await Engine.create({ seed: options.seed, disableFeatures: options.disableFeatures, maxBytes: options.vramBytes });
  try {
    const workload = options.workload === 'generate' ? generateWorkload(engine, options) : trainingWorkload(engine, options);
    if (options.autotune) {
      // One unprofiled step meets every shape; the profiled steps then run the tuned kernels.
      startAutotune(engine, options.autotune);
      await workload.runStep(0);
      await finishAutotune(engine, options.autotune, (line) => console.error(`autotune ${line}`));
    }
    const profiler = new Profiler(engine, { timestamps: options.timestamps });
    try {
      await engine.sync();
      // Evictions from the first profiled step on (the warm-up's first allocations are not a step's).
      let evictedBefore = 0;
      const steps = await profileSteps(profiler, (index) => {
        if (index === 1) evictedBefore = engine.memory().evictedBytes;
        return workload.runStep(index);
      }, options.steps);
      const rows = kernelTable(steps, options.groupBy);
      const summary = summarize(steps);
      const trace = buildTrace(steps, { workload: workload.description, adapter: engine.describe(), clock: profiler.clock, date: new Date().toISOString() });
      const { peakHeldBytes, peakLiveBytes, evictedBytes } = engine.memory();
      const evictedBytesPerStep = (evictedBytes - evictedBefore) / options.steps;
      const budget = options.vramBytes === undefined ? '' : `; ${formatBytes(evictedBytesPerStep)} a step evicted to stay within ${formatBytes(options.vramBytes)}`;
      const memoryLine = `GPU memory (buffer pool, warm-up included): peak ${formatBytes(peakHeldBytes)} held, ${formatBytes(peakLiveBytes)} in live tensors${budget}`;
      const table = `${workload.description} on ${engine.describe()}\n${formatTable(rows, summary)}\n${memoryLine}`;
      return { rows, summary, table, trace, profilerReadbacks: profiler.readbacks, memory: { peakHeldBytes, peakLiveBytes, evictedBytesPerStep } };
    } finally {
      profiler.detach();
      workload.dispose();
    }
  } finally {
    engine.destroy();
  }
}

interface ProfileFlags {
  config: string;
  steps: number;
  batch?: number;
  seed: number;
  trace?: string;
  by: string;
  timestamps: boolean;
  weights?: string;
  srWeights?: string;
  sr: boolean;
  fullImage?: boolean;
  autotune?: string | boolean;
  savedActivations: SavedActivationStorage;
  recomputeActivations?: boolean;
  vram?: string;
}

export function register(program: Command): void {
  program
    .command('profile')
    .description('profile the GPU kernels of a workload: a per-kernel table, and a Chrome trace (Perfetto, chrome://tracing) with --trace')
    .argument('<workload>', workloads.join(' | '))
    .option('--config <name>', 'model config preset: paper, small or tiny', 'paper')
    .option('--steps <n>', 'profiled steps, after one warm-up step', parseIntegerOption('--steps', 1), 3)
    .option('--batch <b>', 'batch size (default: the training default, or 16 for generate)', parseIntegerOption('--batch', 1))
    .option('--seed <s>', 'seed of weights and noise', parseIntegerOption('--seed', 0), 0)
    .option('--trace <file>', 'write the Chrome trace-event JSON here')
    .option('--by <grouping>', 'table rows per kernel or per label (shapes)', 'kernel')
    .option('--no-timestamps', 'time on the CPU even where timestamp-query exists')
    .option('--weights <file>', 'generate: CGAN weights (default: random initialisation)')
    .option('--sr-weights <file>', 'generate: SRGAN weights (default: random initialisation)')
    .option('--no-sr', 'generate: leave out the SRGAN x4 pass')
    .option('--full-image', 'train-srgan: whole 512/128 images instead of 96/24 crops')
    .option('--autotune [file]', `tune the conv kernel variants of the workload's shapes first (cached in FILE, default ${defaultTuningPath()})`)
    .option('--saved-activations <f32|f16>', 'train-*: how activations are kept for backward', parseSavedActivations, 'f32')
    .option('--recompute-activations', 'train-*: rebuild the conv inputs that BatchNorms made in backward instead of keeping them')
    .option('--vram <bytes>', 'a GPU memory budget for the buffer pool, e.g. 500MiB: the table then says what it evicts a step (default: none)')
    .action(async (workload: string, flags: ProfileFlags) => {
      if (!(workloads as readonly string[]).includes(workload)) throw new UsageError(`workload must be one of ${workloads.join(', ')}, got '${workload}'`);
      if (flags.by !== 'kernel' && flags.by !== 'label') throw new UsageError(`--by must be kernel or label, got '${flags.by}'`);
      const report = await runProfile({
        workload: workload as Workload, config: flags.config, steps: flags.steps, batch: flags.batch, seed: flags.seed, timestamps: flags.timestamps,
        groupBy: flags.by, weights: flags.weights, srWeights: flags.srWeights, sr: flags.sr, fullImage: flags.fullImage ?? false,
        autotune: tuningPathFlag(flags.autotune), savedActivations: flags.savedActivations, recomputeActivations: Boolean(flags.recomputeActivations),
        vramBytes: flags.vram === undefined ? undefined : parseVram(flags.vram),
      });
      console.log(report.table);
      if (flags.trace) {
        writeFileSync(flags.trace, JSON.stringify(report.trace));
        console.log(`wrote ${report.trace.traceEvents.length} trace events to ${flags.trace} (open in https://ui.perfetto.dev or chrome://tracing)`);
      }
    });
}
