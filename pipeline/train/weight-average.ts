// An exponential moving average of a generator's weights (Yazıcı et al., "The Unusual Effectiveness
// of Averaging in GAN Training", 2019): the live weights chase a moving target and carry its
// step-to-step noise; their average draws cleaner images. Used for samples and RUN/weights.safetensors,
// never for training. Its BatchNorm running statistics are recomputed for the averaged weights before
// each use (models/standing-statistics.ts): the live model's belong to other weights.

import type { Module } from '../../models/module.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { movingAverageInPlace } from '../../engine/ops/elementwise.ts';
import { recomputeBatchNormStatistics } from '../../models/standing-statistics.ts';

export class WeightAverage {
  /** Whether the running statistics belong to the current averaged weights. */
  private statisticsCurrent = false;

  /** `average`: a second instance of the live model's class, under its own prefix; starts as a copy. */
  constructor(readonly live: Module, readonly average: Module, readonly decay: number) {
    for (const spec of live.specs) if (spec.role !== 'counter') movingAverageInPlace(average.tensor(spec.name), live.tensor(spec.name), 0);
    this.copyCounters();
  }

  /**
   * Folds in the live weights after optimisation step `step` (0-based). The decay ramps up as
   * (1 + step) / (10 + step) towards `decay`, so the average does not cling to the initialisation.
   */
  update(step: number): void {
    const decay = Math.min(this.decay, (1 + step) / (10 + step));
    for (const spec of this.live.specs) if (spec.role === 'parameter') movingAverageInPlace(this.average.tensor(spec.name), this.live.tensor(spec.name), decay);
    this.copyCounters();
    this.statisticsCurrent = false;
  }

  /**
   * The average, with running statistics recomputed over `batches` training-mode passes of
   * `forward(average, k)` when the weights changed since the last call. `forward` must draw its
   * inputs the same way on every call (a fresh host stream), so a resumed run gets the same statistics.
   */
  async ready(batches: number, forward: (average: Module, batch: number) => Tensor): Promise<Module> {
    if (!this.statisticsCurrent) {
      await recomputeBatchNormStatistics(this.average, batches, (batch) => forward(this.average, batch));
      this.statisticsCurrent = true;
    }
    return this.average;
  }

  private copyCounters(): void {
    for (const spec of this.live.specs) if (spec.role === 'counter') this.average.counters.set(spec.name, this.live.counters.get(spec.name) ?? 0);
  }
}
