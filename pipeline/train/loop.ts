// The headless training loop: progress, metrics, sample grids, atomic checkpoints (last K kept),
// weights for `generate`, the HTML report, resume, Ctrl-C/SIGTERM, and a NaN guard.

import { join } from 'node:path';
import { Engine } from '../../engine/runtime.ts';
import { formatBytes } from '../../engine/memory.ts';
import { BadInputFileError, UsageError } from '../../engine/errors.ts';
import { writeSafetensorsFileAtomic } from '../../engine/io/safetensors-node.ts';
import { writeGreyPng } from '../data/png.ts';
import { prefetchBatches } from '../data/batches.ts';
import { startTrainingProgress } from './progress.ts';
import { RunDirectory } from './run-dir.ts';
import { checkpointName, listCheckpoints, loadCheckpoint, pruneCheckpoints, saveCheckpoint, type TrainingState } from './checkpoint.ts';
import { createTrainer, defaults, hrCropOf, modelConfig, resolveData, type TrainOptions } from './setup.ts';
import { assertFits, planMemory } from './memory-plan.ts';
import { writeReport } from './report.ts';
import { finishAutotune, startAutotune } from '../conv-tuning-file.ts';
import { scheduledLearningRate } from './lr-schedule.ts';

export interface TrainResult {
  steps: number;
  checkpoint: string | null;
  interrupted: boolean;
  peakBytes: number;
  plannedPeakBytes: number;
  seconds: number;
}

/** Set by SIGINT/SIGTERM handlers (or a test): the loop finishes its step, checkpoints and returns. */
export interface StopFlag {
  stop: boolean;
}

export async function runTraining(requested: TrainOptions, stopFlag: StopFlag = { stop: false }): Promise<TrainResult> {
  const began = Date.now();
  let options = requested;
  const batch = options.batch ?? defaults[options.model].batch;
  const config = modelConfig(options);
  if (options.steps === undefined && options.epochs === undefined) throw new UsageError('give --steps or --epochs');

  const plan = await planMemory(options);
  assertFits(plan, options.vramBytes);
  const planned = plan.peakBytes;
  if (plan.evictedBytesPerStep > 0) {
    options.log(`batch ${batch} fits --vram ${formatBytes(options.vramBytes)} with buffers evicted from the pool: live tensors peak at ${formatBytes(plan.peakLiveBytes)}, and a step creates ${formatBytes(plan.evictedBytesPerStep)} of buffers again`);
  }
  if (plan.microBatch !== options.microBatch) {
    options = { ...options, microBatch: plan.microBatch };
    options.log(`batch ${batch} fits the budget as micro-batches of ${plan.microBatch} (gradient accumulation; BatchNorm statistics per micro-batch)`);
  }

  const run = new RunDirectory(options.out);
  run.create();
  const cache = await resolveData(options);
  const trainCount = cache.indicesOf('train').length;
  const stepsPerEpoch = Math.floor(trainCount / batch);
  if (stepsPerEpoch === 0) throw new UsageError(`batch ${batch} is larger than the ${trainCount} training images`);
  const totalSteps = options.steps ?? options.epochs! * stepsPerEpoch;
  if (options.lrDecayStart !== undefined && options.lrDecayStart >= totalSteps) throw new UsageError(`--lr-decay ${options.lrDecayStart} must be below the run's ${totalSteps} steps`);

  const engine = await Engine.create({ maxBytes: options.vramBytes, seed: options.seed });
  if (options.autotune) options.log(`conv autotuning: ${startAutotune(engine, options.autotune)} shape(s) already tuned in ${options.autotune}`);
  const trainer = createTrainer(engine, options, cache, totalSteps);
  let state: TrainingState = { step: 0, epoch: 0, randomCounter: 0 };
  const previous = listCheckpoints(run.checkpoints).at(-1);
  if (options.resume) {
    if (!previous) throw new BadInputFileError(run.checkpoints, 'no checkpoint to resume from');
    state = await loadCheckpoint(previous, trainer.parts, trainer.checkpointModules);
    engine.randomCounter = state.randomCounter;
    run.rewriteMetrics(run.readMetrics(state.step));
    options.log(`resuming ${previous} at step ${state.step}`);
  } else if (previous) {
    throw new UsageError(`${options.out} already has checkpoints: pass --resume to continue, or choose another --out`);
  } else {
    run.rewriteMetrics([]);
  }
  const resolved = { model: options.model, config: options.config, modelConfig: config, batch, totalSteps, stepsPerEpoch, seed: options.seed, lr: options.lr ?? defaults[options.model].lr, lrDecayStart: options.lrDecayStart, ema: options.ema, mismatch: options.mismatch, vramBytes: options.vramBytes, plannedPeakBytes: planned, microBatch: options.microBatch, hrCrop: options.model === 'srgan' ? hrCropOf(options) : undefined, data: options.data, adapter: engine.describe(), features: [...engine.features], convTuning: options.autotune ?? 'default', savedActivations: options.savedActivations ?? 'f32', recomputeActivations: options.recomputeActivations ?? false };
  run.writeJsonAtomic(run.config, resolved);

  const checkpoint = async (): Promise<string> => {
    const path = join(run.checkpoints, checkpointName(state.step));
    // Weights first: a weight average's BatchNorm statistics are recomputed then, and the checkpoint keeps them too.
    const weights = await trainer.weights();
    await saveCheckpoint(path, engine, trainer.parts, { ...state, randomCounter: engine.randomCounter }, resolved, trainer.checkpointModules);
    pruneCheckpoints(run.checkpoints, options.keepCheckpoints);
    await writeSafetensorsFileAtomic(run.weights, weights, { format: `xraygen-${options.model}-weights-1`, config: JSON.stringify(config), step: String(state.step) });
    writeReport(run, `xraygen train ${options.model} — ${options.out}`, resolved);
    return path;
  };
  const sample = async (): Promise<void> => writeGreyPng(run.samplePath(state.step), await trainer.sampleGrid());

  const progress = startTrainingProgress(totalSteps, state.step, options);
  let lastCheckpoint: string | null = null;
  let interrupted = false;
  const batches = prefetchBatches(cache, { ...trainer.batchOptions, batchSize: batch, seed: options.seed, epochs: Math.ceil(totalSteps / stepsPerEpoch) + 1, dropLast: true, skip: state.step });
  try {
    if (state.step === 0) await sample();
    let evictedBefore = engine.memory().evictedBytes;
    for await (const data of batches) {
      if (state.step >= totalSteps) break;
      const stepBegan = performance.now();
      const lr = scheduledLearningRate(resolved.lr, state.step, totalSteps, resolved.lrDecayStart);
      for (const part of trainer.parts) part.optimizer.lr = lr;
      const metrics = await trainer.step(data, state.step);
      for (const [name, value] of Object.entries(metrics)) {
        if (!Number.isFinite(value)) throw new Error(`${name} is ${value} at step ${state.step}: training diverged; the last good checkpoint is ${lastCheckpoint ?? previous ?? 'none'}`);
      }
      const memory = engine.memory();
      const evictedBytes = memory.evictedBytes - evictedBefore;
      evictedBefore = memory.evictedBytes;
      const imagesPerSecond = batch / ((performance.now() - stepBegan) / 1000);
      // The first step met every shape; time the variants of the new ones before going on.
      if (options.autotune) {
        const tuned = await finishAutotune(engine, options.autotune, options.log);
        if (tuned) options.log(`conv autotuning: tuned ${tuned} shape(s), saved in ${options.autotune}`);
      }
      state = { step: state.step + 1, epoch: Math.floor((state.step + 1) / stepsPerEpoch), randomCounter: engine.randomCounter };
      run.appendMetrics({ step: state.step, epoch: state.epoch, ...metrics, lr, images_per_second: imagesPerSecond, live_bytes: memory.liveBytes, peak_bytes: memory.peakHeldBytes, evicted_bytes: evictedBytes });
      progress.update(state.step, state.epoch, metrics, imagesPerSecond);
      if (state.step % options.sampleEvery === 0) await sample();
      if (state.step % options.checkpointEvery === 0 || state.step === totalSteps) lastCheckpoint = await checkpoint();
      if (stopFlag.stop && state.step < totalSteps) {
        interrupted = true;
        lastCheckpoint = await checkpoint();
        break;
      }
    }
  } finally {
    progress.stop();
    await batches.return(undefined);
  }
  const peakBytes = engine.memory().peakHeldBytes;
  trainer.dispose();
  engine.destroy();
  cache.close();
  return { steps: state.step, checkpoint: lastCheckpoint, interrupted, peakBytes, plannedPeakBytes: planned, seconds: (Date.now() - began) / 1000 };
}
