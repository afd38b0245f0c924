// BatchNorm2d forward and backward (PyTorch semantics: biased batch variance to normalise, unbiased
// variance folded into the running estimate). WGSL: shaders/batchnorm.wgsl.

import { kernel } from '../kernel.ts';
import { record } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { linearGrid } from './grid.ts';

const kernels = {
  trainStatistics: kernel('batchnorm', 'train_statistics'),
  evalStatistics: kernel('batchnorm', 'eval_statistics'),
  normalize: kernel('batchnorm', 'normalize'),
  backwardReduce: kernel('batchnorm', 'backward_reduce'),
  backwardInput: kernel('batchnorm', 'backward_input'),
};

/** See `locate` in the WGSL: a [plane, channels, batch] grid avoids per-element divisions. */
function elementwiseLaunch(batch: number, channels: number, plane: number): { workgroups: [number, number, number]; overrides: Record<string, number> } {
  if (plane >= 256 && channels <= 65535 && batch <= 65535) {
    return { workgroups: [Math.ceil(plane / 256), channels, batch], overrides: { PLANE_GRID: 1 } };
  }
  const [x, y] = linearGrid(batch * channels * plane);
  return { workgroups: [x, y, 1], overrides: { PLANE_GRID: 0 } };
}

export interface BatchNormOptions {
  /** Batch statistics (and a running-statistics update) when true; running statistics when false. */
  training: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * x: [N, C, H, W] (or [N, C]); weight, bias, runningMean, runningVar: [C]. In training the running
 * statistics are updated in place; the caller counts num_batches_tracked.
 */
export function batchNorm2d(
  x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions,
): Tensor {
  const engine = x.engine;
  const [batch, channels, height = 1, width = 1] = x.shape;
  const plane = height * width;
  for (const [name, tensor] of [['weight', weight], ['bias', bias], ['runningMean', runningMean], ['runningVar', runningVar]] as const) {
    if (tensor.size !== channels) throw new Error(`batchNorm2d: ${name} ${shapeString(tensor.shape)} does not match ${channels} channels of x ${shapeString(x.shape)}`);
  }
  const count = batch * plane;
  if (options.training && count < 2) throw new Error(`batchNorm2d: training needs more than one value per channel, x is ${shapeString(x.shape)}`);
  const params = {
    batch, channels, plane,
    eps: options.eps ?? 1e-5,
    momentum: options.momentum ?? 0.1,
    correction: options.training ? 1 / count : 0,
  };
  const label = `batchNorm2d ${shapeString(x.shape)}`;
  const elementwise = elementwiseLaunch(batch, channels, plane);

  // stats: [mean (C), invstd (C)]. Kept out of tidy scopes: the tape owns it until backward.
  const stats = engine.keep(engine.empty([2 * channels], 'f32', 'batchNorm.stats'));
  if (options.training) {
    engine.run(kernels.trainStatistics, {
      buffers: { x, stats, running_mean: runningMean, running_var: runningVar },
      params, workgroups: [channels], label: `${label} statistics`, bytes: 2 * x.byteLength,
    });
  } else {
    engine.run(kernels.evalStatistics, {
      buffers: { stats, running_mean: runningMean, running_var: runningVar },
      params, workgroups: [Math.ceil(channels / 64)], label: `${label} eval statistics`,
    });
  }
  const out = engine.empty(x.shape, 'f32', 'batchNorm');
  engine.run(kernels.normalize, {
    buffers: { x, saved_stats: stats, weight, bias, out },
    params, ...elementwise, label, bytes: 2 * x.byteLength,
  });

  const result = record(out, [x, weight, bias], 'batchNorm2d', (dy) => {
    const gradBias = engine.empty([channels], 'f32', 'batchNorm.gradBias');
    const gradWeight = engine.empty([channels], 'f32', 'batchNorm.gradWeight');
    engine.run(kernels.backwardReduce, {
      buffers: { x, dy, saved_stats: stats, grad_weight: gradWeight, grad_bias: gradBias },
      params, workgroups: [channels], label: `${label} backward sums`, bytes: 2 * x.byteLength,
    });
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = engine.empty(x.shape, 'f32', 'batchNorm.dx');
      engine.run(kernels.backwardInput, {
        buffers: { x, dy, saved_stats: stats, weight, sum_dy: gradBias, sum_dy_xhat: gradWeight, out: dx },
        params, ...elementwise, label: `${label} backward input`, bytes: 3 * x.byteLength,
      });
    }
    if (!weight.requiresGrad) gradWeight.dispose();
    if (!bias.requiresGrad) gradBias.dispose();
    return [dx, weight.requiresGrad ? gradWeight : null, bias.requiresGrad ? gradBias : null];
  }, [x, weight, stats]);
  // The tape retained stats if it recorded; otherwise this frees it.
  stats.dispose();
  return result;
}
