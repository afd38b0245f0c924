// BatchNorm2d as a layer of a Module: looks up its five tensors by name and counts batches.

import type { Tensor } from '../engine/tensor.ts';
import { batchNorm2d, batchNormActivation, type FusedActivation } from '../engine/ops/batchnorm.ts';
import { leakyRelu, prelu } from '../engine/ops/elementwise.ts';
import type { Module } from './module.ts';

/**
 * Whether an activation after a BN runs in the BN's passes (the default) or as its own op. The
 * results are the same bit for bit (the PReLU weight gradient up to summation order); bench/fusion.ts
 * switches it off to measure what fusion buys.
 */
export const layerFusion = { batchNormActivation: true };

/** BN, or act(BN) when an activation follows it. */
export function runBatchNorm(module: Module, name: string, x: Tensor, training: boolean, activation?: FusedActivation): Tensor {
  if (training) module.counters.set(`${name}.num_batches_tracked`, (module.counters.get(`${name}.num_batches_tracked`) ?? 0) + 1);
  const tensors = [`${name}.weight`, `${name}.bias`, `${name}.running_mean`, `${name}.running_var`].map((key) => module.tensor(key)) as [Tensor, Tensor, Tensor, Tensor];
  const options = { training, momentum: module.batchNormMomentum, eps: 1e-5 };
  if (activation && layerFusion.batchNormActivation) return batchNormActivation(x, ...tensors, options, activation);
  const normalised = batchNorm2d(x, ...tensors, options);
  if (!activation) return normalised;
  return 'prelu' in activation ? prelu(normalised, activation.prelu) : leakyRelu(normalised, activation.leakyRelu);
}
