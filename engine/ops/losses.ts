// The two training losses, mean-reduced to a [1] tensor, with their backward: binary cross-entropy
// on logits (the GAN losses) and mean squared error (SRResNet pixel loss). WGSL: shaders/losses.wgsl.

import { kernel, type Kernel } from '../kernel.ts';
import { record } from '../autograd.ts';
import type { Engine } from '../runtime.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { full } from './elementwise.ts';
import { linearGrid } from './grid.ts';
import { reduceOuterInner } from './reduce.ts';

const kernels = {
  bce: kernel('losses', 'bce_with_logits'),
  bceBackwardInput: kernel('losses', 'bce_with_logits_backward_input'),
  bceBackwardTarget: kernel('losses', 'bce_with_logits_backward_target'),
  mse: kernel('losses', 'mse'),
  mseBackward: kernel('losses', 'mse_backward'),
};

/** Enough workgroups to keep every core busy; few enough that the second stage is one small sum. */
const MAX_PARTIALS = 256;

/** mean over elements of loss(input, target): per-workgroup partial sums, then one sum of those. */
function meanLoss(k: Kernel, input: Tensor, target: Tensor, name: string): Tensor {
  if (input.size !== target.size) throw new Error(`${name}: input ${shapeString(input.shape)} and target ${shapeString(target.shape)} differ in size`);
  const engine = input.engine;
  const groups = Math.max(1, Math.min(MAX_PARTIALS, Math.ceil(input.size / 1024)));
  const partial = engine.empty([groups], 'f32', `${name}.partial`);
  engine.run(k, {
    buffers: { input, truth: target, partial },
    params: { count: input.size, groups, sign: 1 },
    workgroups: [groups],
    label: `${name} ${shapeString(input.shape)}`,
    bytes: 2 * input.byteLength,
  });
  const loss = reduceOuterInner(partial, 1, 1, groups, 1 / Math.max(1, input.size), [1]);
  partial.dispose();
  return loss;
}

/** One gradient kernel over input's elements; dy is the [1] upstream gradient of the loss. */
function lossGradient(k: Kernel, buffers: Record<string, Tensor>, like: Tensor, dy: Tensor, sign: number, name: string): Tensor {
  const grad = like.engine.empty(like.shape, 'f32', name);
  like.engine.run(k, {
    buffers: { ...buffers, dy, grad },
    params: { count: like.size, groups: 0, sign },
    workgroups: linearGrid(like.size),
    label: `${name} ${shapeString(like.shape)}`,
  });
  return grad;
}

/** mean(max(x, 0) - x t + log(1 + exp(-|x|))) -> [1]. targets: same size as logits, in [0, 1]. */
export function bceWithLogits(logits: Tensor, targets: Tensor): Tensor {
  const loss = meanLoss(kernels.bce, logits, targets, 'bceWithLogits');
  return record(loss, [logits, targets], 'bceWithLogits', (dy) => [
    logits.requiresGrad ? lossGradient(kernels.bceBackwardInput, { input: logits, truth: targets }, logits, dy, 1, 'bceWithLogits.dx') : null,
    targets.requiresGrad ? lossGradient(kernels.bceBackwardTarget, { input: logits }, targets, dy, 1, 'bceWithLogits.dt') : null,
  ], [logits, targets]);
}

/** mean((a - b)^2) -> [1]; both sides get gradients (SR output and, if it needs one, the target). */
export function mse(a: Tensor, b: Tensor): Tensor {
  const loss = meanLoss(kernels.mse, a, b, 'mse');
  return record(loss, [a, b], 'mse', (dy) => [
    a.requiresGrad ? lossGradient(kernels.mseBackward, { input: a, truth: b }, a, dy, 1, 'mse.da') : null,
    b.requiresGrad ? lossGradient(kernels.mseBackward, { input: a, truth: b }, b, dy, -1, 'mse.db') : null,
  ], [a, b]);
}

/** A constant target (1 for "real", 0 for "fake") of the given shape. The caller owns it. */
export function constantTarget(engine: Engine, shape: readonly number[], value: number): Tensor {
  return full({ engine, shape }, value, value === 1 ? 'ones' : value === 0 ? 'zeros' : 'target');
}
