// "Does this fit?": replays training steps on a dry-run engine (allocations only, no kernels) and
// reports the pool's peak. A batch fits when its live tensors do: above that, the pool evicts the
// buffers it keeps for reuse, and a second replay with the budget in force measures how many bytes a
// step then re-creates. When a batch does not fit, finds the largest that does.

import { DEFAULT_BINDING_BYTES, Engine } from '../../engine/runtime.ts';
import { formatBytes } from '../../engine/memory.ts';
import { AdapterLimitError, OverBudgetError, UsageError } from '../../engine/errors.ts';
import { probeAdapter, type AdapterKind } from '../../engine/device.ts';
import { createTrainer, defaults, type TrainOptions } from './setup.ts';

export interface StepReplay {
  /** The pool's high-water mark (live + pooled for reuse): what the run holds. */
  peakHeldBytes: number;
  peakLiveBytes: number;
  /** Bytes of pooled buffers evicted (and so created again) in the last step: the cost of a tight budget. */
  evictedBytesPerStep: number;
  /** Why no budget lets it run (a tensor or a dispatch past an adapter limit); the peaks are then Infinity. */
  unrunnable?: string;
}

// A dry run's result depends only on its options and batch, and a plan's searches ask for some twice
// (the micro-batch found, then its plan; a batch that fits nowhere, then its report): the last few are kept.
const recentReplays = new Map<string, Promise<StepReplay>>();
const RECENT_REPLAYS = 16;

/** Two training steps at `batch` and a sample grid, allocations only, with no budget. */
export function replaySteps(options: TrainOptions, batch: number): Promise<StepReplay> {
  const key = `${batch} ${JSON.stringify(options)}`;
  let result = recentReplays.get(key);
  if (!result) {
    result = replay(options, batch, Infinity).then((r) => r!);
    result.catch(() => recentReplays.delete(key));
    recentReplays.set(key, result);
    if (recentReplays.size > RECENT_REPLAYS) recentReplays.delete(recentReplays.keys().next().value!);
  }
  return result;
}

/** The replay of `batch` under `budget`: unbounded when that fits, else with evictions; null when it does not fit. */
export async function replayWithin(options: TrainOptions, batch: number, budget: number): Promise<StepReplay | null> {
  const unbounded = await replaySteps(options, batch);
  if (unbounded.peakLiveBytes > budget) return null;
  return unbounded.peakHeldBytes <= budget ? unbounded : replay(options, batch, budget);
}

/** The replay itself, the pool held to `budget`: null when it does not fit. */
async function replay(options: TrainOptions, batch: number, budget: number): Promise<StepReplay | null> {
  const engine = await Engine.create({ dryRun: true, seed: options.seed, adapterKind: options.plannedFor, maxBindingBytes: options.plannedBindingBytes, maxBytes: budget });
  const trainer = createTrainer(engine, options, null, 0);
  try {
    let evictedBefore = 0;
    for (let step = 0; step < 2; step++) {
      evictedBefore = engine.memory().evictedBytes;
      // A step number past any pre-training phase: the adversarial step is the larger one.
      await trainer.step(trainer.syntheticBatch(batch), Number.MAX_SAFE_INTEGER - 1);
    }
    const evictedBytesPerStep = engine.memory().evictedBytes - evictedBefore;
    await trainer.sampleGrid();
    const { peakHeldBytes, peakLiveBytes } = engine.memory();
    return { peakHeldBytes, peakLiveBytes, evictedBytesPerStep };
  } catch (error) {
    if (error instanceof AdapterLimitError) return { peakHeldBytes: Infinity, peakLiveBytes: Infinity, evictedBytesPerStep: 0, unrunnable: error.message };
    if (error instanceof OverBudgetError) return null;
    throw error;
  } finally {
    trainer.dispose();
    engine.destroy();
  }
}

/** Peak GPU bytes (pool high-water mark) of training at `batch` with no budget; Infinity when it cannot run. */
export async function plannedPeakBytes(options: TrainOptions, batch: number): Promise<number> {
  return (await replaySteps(options, batch)).peakHeldBytes;
}

/**
 * Whether `batch` fits `budget`: its live tensors must (the pool evicts everything else before it
 * gives up, and what is live does not depend on what it evicts).
 */
async function liveFits(options: TrainOptions, batch: number, budget: number): Promise<boolean> {
  return (await replaySteps(options, batch)).peakLiveBytes <= budget;
}

/** The largest batch <= `upTo` that fits `budget` (0 when even 1 does not fit). */
export async function largestFittingBatch(options: TrainOptions, upTo: number, budget: number): Promise<number> {
  let low = 0;
  let high = upTo;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (await liveFits(options, middle, budget)) low = middle;
    else high = middle - 1;
  }
  return low;
}

/**
 * For the SRGAN, the largest micro-batch (gradient accumulation) under `batch` that fits, or 0 when
 * none does. Tried: the batch in 2, 3, 4, ... near-equal parts (16: 8, 6, 4, 3, 2, 1), so that no
 * part is much smaller than the rest (BatchNorm takes each part's statistics).
 */
export async function largestFittingMicroBatch(options: TrainOptions, batch: number, budget: number): Promise<number> {
  if (options.model !== 'srgan') return 0;
  let tried = batch;
  for (let parts = 2; parts <= batch; parts++) {
    const micro = Math.ceil(batch / parts);
    if (micro === tried) continue;
    tried = micro;
    if (await liveFits({ ...options, microBatch: micro }, batch, budget)) return micro;
  }
  return 0;
}

export interface MemoryPlan {
  /** The pool's planned high-water mark (live tensors and buffers kept for reuse), within the budget when it fits. */
  peakBytes: number;
  /** The peak of live tensors alone: what must fit the budget. */
  peakLiveBytes: number;
  /** Bytes of pooled buffers a step evicts and creates again to stay within the budget (0: none). */
  evictedBytesPerStep: number;
  batch: number;
  /** Set when the whole batch does not fit but gradient accumulation over micro-batches does. */
  microBatch?: number;
  fits: boolean;
  largestBatch?: number;
  /** Set when no budget lets the batch run (a tensor or a dispatch past an adapter limit): why. */
  unrunnable?: string;
  /** The adapter kind planned for. */
  plannedFor: AdapterKind;
  /** The storage binding limit planned for. */
  plannedBindingBytes: number;
}

/** The planned peak for the options; a too-large SRGAN batch falls back to micro-batches that fit. */
export async function planMemory(requested: TrainOptions): Promise<MemoryPlan> {
  // Planned for this machine's adapter and its binding limit (a GPU's, the larger, when there is none).
  const probe = requested.plannedFor === undefined ? await probeAdapter() : null;
  const options = {
    ...requested,
    plannedFor: requested.plannedFor ?? probe?.kind ?? 'gpu',
    plannedBindingBytes: requested.plannedBindingBytes ?? probe?.maxBindingBytes,
  };
  const plannedAdapter = { plannedFor: options.plannedFor, plannedBindingBytes: options.plannedBindingBytes ?? DEFAULT_BINDING_BYTES };
  const batch = options.batch ?? defaults[options.model].batch;
  const budget = options.vramBytes;
  const fitting = (replay: StepReplay, microBatch: number | undefined): MemoryPlan => ({
    peakBytes: replay.peakHeldBytes, peakLiveBytes: replay.peakLiveBytes, evictedBytesPerStep: replay.evictedBytesPerStep, batch, microBatch, fits: true, ...plannedAdapter,
  });
  const whole = await replayWithin(options, batch, budget);
  if (whole) return fitting(whole, options.microBatch);
  if (options.microBatch === undefined) {
    const microBatch = await largestFittingMicroBatch(options, batch, budget);
    if (microBatch > 0) return fitting((await replayWithin({ ...options, microBatch }, batch, budget))!, microBatch);
  }
  // Not even in micro-batches of one (when they were up to the plan to choose): said of those.
  const smallest = options.microBatch === undefined && options.model === 'srgan' ? { ...options, microBatch: 1 } : options;
  const unbounded = await replaySteps(smallest, batch);
  return {
    peakBytes: unbounded.peakHeldBytes, peakLiveBytes: unbounded.peakLiveBytes, evictedBytesPerStep: 0, batch, microBatch: smallest.microBatch,
    fits: false, largestBatch: await largestFittingBatch(smallest, batch, budget), unrunnable: unbounded.unrunnable, ...plannedAdapter,
  };
}

/** Refuses a plan that does not fit, in one line: why, and the largest batch that fits. */
export function assertFits(plan: MemoryPlan, budget: number): void {
  if (plan.fits) return;
  const what = `batch ${plan.batch}${plan.microBatch ? ` in micro-batches of ${plan.microBatch}` : ''}`;
  const largest = plan.largestBatch ? `the largest batch that fits is ${plan.largestBatch}` : 'not even a batch of 1 fits';
  if (plan.unrunnable) throw new UsageError(`${what} cannot run on this adapter at any --vram (${plan.unrunnable}); ${largest}`);
  throw new OverBudgetError(`${what} needs a planned peak of ${formatBytes(plan.peakLiveBytes)} in live tensors, over the --vram budget of ${formatBytes(budget)}; ${largest}`, plan.peakLiveBytes, 0, budget);
}
