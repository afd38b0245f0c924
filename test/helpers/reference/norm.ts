// Float64 reference for BatchNorm2d in train and eval mode (PyTorch semantics: biased variance to
// normalise, unbiased variance folded into the running estimate, eps 1e-5, momentum 0.1).

import type { Shape4 } from './conv.ts';

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
}

export interface BatchNormTrainResult {
  /** [N, C, H, W] */
  output: Float64Array;
  /** [C] batch mean over N, H, W. */
  mean: Float64Array;
  /** [C] biased batch variance (divides by N*H*W), the one used to normalise. */
  variance: Float64Array;
  /** [C] (1 - momentum) * runningMean + momentum * mean. */
  runningMean: Float64Array;
  /** [C] (1 - momentum) * runningVar + momentum * unbiased variance. */
  runningVar: Float64Array;
}

export interface BatchNormGrads {
  gradInput: Float64Array;
  gradWeight: Float64Array;
  gradBias: Float64Array;
}

/** Calls visit(channel, flatIndex) for every element of an NCHW tensor, channel-major per batch. */
function forEachElement(shape: Shape4, visit: (channel: number, index: number) => void): void {
  const [batchCount, channels, height, width] = shape;
  const plane = height * width;
  for (let batch = 0; batch < batchCount; batch++) {
    for (let channel = 0; channel < channels; channel++) {
      const offset = (batch * channels + channel) * plane;
      for (let pixel = 0; pixel < plane; pixel++) visit(channel, offset + pixel);
    }
  }
}

/**
 * Train-mode forward. x: [N, C, H, W]; weight, bias, runningMean, runningVar: [C].
 * Pure: the running statistics passed in are not modified; the updated ones are returned.
 */
export function batchNorm2dTrainForward(
  x: Float64Array, xShape: Shape4, weight: Float64Array, bias: Float64Array,
  runningMean: Float64Array, runningVar: Float64Array, options: BatchNormOptions = {},
): BatchNormTrainResult {
  const eps = options.eps ?? 1e-5;
  const momentum = options.momentum ?? 0.1;
  const [batchCount, channels, height, width] = xShape;
  const count = batchCount * height * width;
  // PyTorch refuses too: the unbiased running variance would divide by zero.
  if (count < 2) throw new Error('batchNorm2d train: need more than one value per channel');
  const mean = new Float64Array(channels);
  forEachElement(xShape, (channel, index) => { mean[channel] += x[index]; });
  for (let channel = 0; channel < channels; channel++) mean[channel] /= count;
  // Two-pass variance: numerically safer than E[x^2] - E[x]^2, and this is the reference.
  const variance = new Float64Array(channels);
  forEachElement(xShape, (channel, index) => { variance[channel] += (x[index] - mean[channel]) ** 2; });
  for (let channel = 0; channel < channels; channel++) variance[channel] /= count;
  const output = new Float64Array(x.length);
  forEachElement(xShape, (channel, index) => {
    const normalised = (x[index] - mean[channel]) / Math.sqrt(variance[channel] + eps);
    output[index] = normalised * weight[channel] + bias[channel];
  });
  const newRunningMean = runningMean.map((value, channel) => (1 - momentum) * value + momentum * mean[channel]);
  const newRunningVar = runningVar.map(
    (value, channel) => (1 - momentum) * value + momentum * variance[channel] * (count / (count - 1)),
  );
  return { output, mean, variance, runningMean: newRunningMean, runningVar: newRunningVar };
}

/**
 * Train-mode backward; mean and variance are the forward's batch statistics (biased variance).
 * dx = weight * invStd / M * (M g - sum g - xhat sum(g xhat)), with M = N*H*W per channel.
 */
export function batchNorm2dTrainBackward(
  gradOutput: Float64Array, x: Float64Array, xShape: Shape4, weight: Float64Array,
  mean: Float64Array, variance: Float64Array, eps = 1e-5,
): BatchNormGrads {
  const [batchCount, channels, height, width] = xShape;
  const count = batchCount * height * width;
  const inverseStd = variance.map((value) => 1 / Math.sqrt(value + eps));
  const gradBias = new Float64Array(channels);
  const gradWeight = new Float64Array(channels);
  forEachElement(xShape, (channel, index) => {
    gradBias[channel] += gradOutput[index];
    gradWeight[channel] += gradOutput[index] * (x[index] - mean[channel]) * inverseStd[channel];
  });
  const gradInput = new Float64Array(x.length);
  forEachElement(xShape, (channel, index) => {
    const normalised = (x[index] - mean[channel]) * inverseStd[channel];
    gradInput[index] = (weight[channel] * inverseStd[channel] / count)
      * (count * gradOutput[index] - gradBias[channel] - normalised * gradWeight[channel]);
  });
  return { gradInput, gradWeight, gradBias };
}

/** Eval-mode forward: normalise with the running statistics. Shapes as in train mode. */
export function batchNorm2dEvalForward(
  x: Float64Array, xShape: Shape4, weight: Float64Array, bias: Float64Array,
  runningMean: Float64Array, runningVar: Float64Array, eps = 1e-5,
): Float64Array {
  const output = new Float64Array(x.length);
  forEachElement(xShape, (channel, index) => {
    output[index] = (x[index] - runningMean[channel]) / Math.sqrt(runningVar[channel] + eps) * weight[channel]
      + bias[channel];
  });
  return output;
}

/** Eval-mode backward: an affine map per channel, so dx = g * weight / sqrt(runningVar + eps). */
export function batchNorm2dEvalBackward(
  gradOutput: Float64Array, x: Float64Array, xShape: Shape4, weight: Float64Array,
  runningMean: Float64Array, runningVar: Float64Array, eps = 1e-5,
): BatchNormGrads {
  const channels = xShape[1];
  const gradInput = new Float64Array(x.length);
  const gradWeight = new Float64Array(channels);
  const gradBias = new Float64Array(channels);
  forEachElement(xShape, (channel, index) => {
    const inverseStd = 1 / Math.sqrt(runningVar[channel] + eps);
    gradInput[index] = gradOutput[index] * weight[channel] * inverseStd;
    gradWeight[channel] += gradOutput[index] * (x[index] - runningMean[channel]) * inverseStd;
    gradBias[channel] += gradOutput[index];
  });
  return { gradInput, gradWeight, gradBias };
}
