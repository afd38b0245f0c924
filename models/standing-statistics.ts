// "Standing statistics" (Brock et al., BigGAN, 2019): recomputes a model's BatchNorm running mean and
// variance as the plain mean over a few forward passes in training mode. A weight average needs this:
// the running statistics it would otherwise carry were gathered by the live weights, so in eval mode
// the averaged layers would normalise with another model's mean and variance.

import { noGrad } from '../engine/autograd.ts';
import type { Tensor } from '../engine/tensor.ts';
import type { Module } from './module.ts';

/**
 * Runs `forward(k)` for k = 0 .. batches-1 (in training mode, gradients off) with momentum 1/(k+1),
 * so that each running statistic ends as the mean of the `batches` batch statistics. The
 * num_batches_tracked counters keep their values.
 */
export async function recomputeBatchNormStatistics(module: Module, batches: number, forward: (batch: number) => Tensor): Promise<void> {
  const engine = module.engine;
  const counters = new Map(module.counters);
  const momentum = module.batchNormMomentum;
  try {
    for (let batch = 0; batch < batches; batch++) {
      module.batchNormMomentum = 1 / (batch + 1);
      engine.tidy(() => {
        noGrad(engine, () => forward(batch));
      });
    }
    await engine.sync();
  } finally {
    module.batchNormMomentum = momentum;
    for (const [name, value] of counters) module.counters.set(name, value);
  }
}
