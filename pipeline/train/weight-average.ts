// An exponential moving average of a generator's weights (Yazıcı et al., "The Unusual Effectiveness
// of Averaging in GAN Training", 2019): the live weights chase a moving target and carry its
// step-to-step noise; their average draws cleaner images. Used for samples and RUN/weights.safetensors,
// never for training. BatchNorm running statistics are averages already and are copied as they are.

import type { Module } from '../../models/module.ts';
import { movingAverageInPlace } from '../../engine/ops/elementwise.ts';

export class WeightAverage {
  /** `average`: a second instance of the live model's class, under its own prefix; starts as a copy. */
  constructor(readonly live: Module, readonly average: Module, readonly decay: number) {
    this.copyBuffers();
    for (const spec of live.specs) if (spec.role === 'parameter') movingAverageInPlace(average.tensor(spec.name), live.tensor(spec.name), 0);
  }

  /**
   * Folds in the live weights after optimisation step `step` (0-based). The decay ramps up as
   * (1 + step) / (10 + step) towards `decay`, so the average does not cling to the initialisation.
   */
  update(step: number): void {
    const decay = Math.min(this.decay, (1 + step) / (10 + step));
    for (const spec of this.live.specs) if (spec.role === 'parameter') movingAverageInPlace(this.average.tensor(spec.name), this.live.tensor(spec.name), decay);
    this.copyBuffers();
  }

  private copyBuffers(): void {
    for (const spec of this.live.specs) {
      if (spec.role === 'buffer') movingAverageInPlace(this.average.tensor(spec.name), this.live.tensor(spec.name), 0);
      if (spec.role === 'counter') this.average.counters.set(spec.name, this.live.counters.get(spec.name) ?? 0);
    }
  }
}
