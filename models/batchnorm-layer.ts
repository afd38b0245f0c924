// BatchNorm2d as a layer of a Module: looks up its five tensors by name and counts batches.

import type { Tensor } from '../engine/tensor.ts';
import { batchNorm2d } from '../engine/ops/batchnorm.ts';
import type { Module } from './module.ts';

export function runBatchNorm(module: Module, name: string, x: Tensor, training: boolean): Tensor {
  if (training) module.counters.set(`${name}.num_batches_tracked`, (module.counters.get(`${name}.num_batches_tracked`) ?? 0) + 1);
  return batchNorm2d(
    x,
    module.tensor(`${name}.weight`),
    module.tensor(`${name}.bias`),
    module.tensor(`${name}.running_mean`),
    module.tensor(`${name}.running_var`),
    { training, momentum: 0.1, eps: 1e-5 },
  );
}
