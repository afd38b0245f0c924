// "Does this fit?": replays training steps on a dry-run engine (allocations only, no kernels) and
// reports the pool's peak; when a batch does not fit, finds the largest that does.

import { Engine } from '../../engine/runtime.ts';
import { KernelBindingError, OverBudgetError } from '../../engine/errors.ts';
import { createTrainer, type TrainOptions } from './setup.ts';

/**
 * Peak GPU bytes (pool high-water mark) of two training steps at `batch`; Infinity when a tensor
 * would exceed the storage binding limit, which no budget can fix.
 */
export async function plannedPeakBytes(options: TrainOptions, batch: number): Promise<number> {
  const engine = await Engine.create({ dryRun: true, seed: options.seed, adapterKind: options.plannedFor });
  const trainer = createTrainer(engine, options, null, 0);
  try {
    // Step numbers past any pre-training phase: the adversarial step is the larger one.
    for (let step = 0; step < 2; step++) await trainer.step(trainer.syntheticBatch(batch), Number.MAX_SAFE_INTEGER - 1);
    await trainer.sampleGrid();
    return engine.memory().peakHeldBytes;
  } catch (error) {
    if (error instanceof KernelBindingError) return Infinity;
    throw error;
  } finally {
    trainer.dispose();
    engine.destroy();
  }
}

/** The largest batch <= `upTo` whose planned peak is within `budget` (0 when even 1 does not fit). */
export async function largestFittingBatch(options: TrainOptions, upTo: number, budget: number): Promise<number> {
  let low = 0;
  let high = upTo;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if ((await plannedPeakBytes(options, middle)) <= budget) low = middle;
    else high = middle - 1;
  }
  return low;
}

/**
 * For the SRGAN, the largest micro-batch (gradient accumulation) under `batch` whose planned peak
 * fits, or 0 when none does.
 */
export async function largestFittingMicroBatch(options: TrainOptions, batch: number, budget: number): Promise<number> {
  if (options.model !== 'srgan') return 0;
  for (let micro = batch - 1; micro >= 1; micro = micro > 4 ? Math.ceil(micro / 2) : micro - 1) {
    if ((await plannedPeakBytes({ ...options, microBatch: micro }, batch)) <= budget) return micro;
  }
  return 0;
}

export function assertFits(peak: number, budget: number, largest: number, batch: number): void {
  if (peak <= budget) return;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  throw new OverBudgetError(`batch ${batch} needs a planned peak of ${gib(peak)}, over the --vram budget of ${gib(budget)}; the largest batch that fits is ${largest}`, peak, 0, budget);
}
