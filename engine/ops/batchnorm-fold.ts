// BatchNorm in inference mode folded into the conv before it: BN(conv(x, W) + b) with the running
// statistics is conv(x, W s) + (b - mean) s + beta, s = gamma / sqrt(var + eps) per output channel,
// so a model's eval forward runs one conv where it ran a conv, a statistics pass and a normalise pass
// (models/batchnorm-layer.ts). WGSL: shaders/batchnorm_fold.wgsl.

import { kernel } from '../kernel.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { linearGrid } from './grid.ts';

const foldKernel = kernel('batchnorm_fold', 'fold');

/** The BatchNorm's four tensors ([C] each) and its eps. */
export interface BatchNormStatistics {
  weight: Tensor;
  bias: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
  eps: number;
}

/**
 * The weight and bias of the conv whose output is `bn`(conv(x, weight) + bias): weight is conv2d's
 * [Cout, Cin, kH, kW] (`outputAxis` 0) or convTranspose2d's [Cin, Cout, kH, kW] (1); bias [Cout] or null.
 * Not recorded on the tape: for inference, where nothing is trained.
 */
export function foldBatchNorm(weight: Tensor, bias: Tensor | null, bn: BatchNormStatistics, outputAxis: 0 | 1): { weight: Tensor; bias: Tensor } {
  const engine = weight.engine;
  if (weight.shape.length !== 4) throw new Error(`foldBatchNorm: weight must be 4-d, got ${shapeString(weight.shape)}`);
  const channels = weight.shape[outputAxis];
  for (const [name, tensor] of [['bias', bias], ['BN weight', bn.weight], ['BN bias', bn.bias], ['running mean', bn.runningMean], ['running var', bn.runningVar]] as const) {
    if (tensor && tensor.size !== channels) throw new Error(`foldBatchNorm: ${name} ${shapeString(tensor.shape)} does not match ${channels} output channels of weight ${shapeString(weight.shape)}`);
  }
  const [, , kernelHeight, kernelWidth] = weight.shape;
  const inner = outputAxis === 0 ? weight.size / channels : kernelHeight * kernelWidth;
  const folded = { weight: engine.empty(weight.shape, 'f32', 'folded weight'), bias: engine.empty([channels], 'f32', 'folded bias') };
  engine.run(foldKernel, {
    buffers: {
      weight, bias: bias ?? bn.bias, gamma: bn.weight, beta: bn.bias, running_mean: bn.runningMean, running_var: bn.runningVar,
      folded_weight: folded.weight, folded_bias: folded.bias,
    },
    params: { count: weight.size, channels, inner, hasBias: bias ? 1 : 0, eps: bn.eps },
    workgroups: linearGrid(weight.size),
    label: `fold batchNorm into ${shapeString(weight.shape)}`,
    bytes: (2 * weight.size + 6 * channels) * 4,
  });
  return folded;
}
