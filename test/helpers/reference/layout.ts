// Float64 reference for the data-movement ops: embedding gather, channel concatenation,
// pixel shuffle and global average pooling (all NCHW where it matters), forward and backward.

import type { Shape4 } from './conv.ts';

/** weight: [num, dim]; indices: [count]; returns [count, dim] (row i = weight[indices[i]]). */
export function embeddingForward(
  indices: ArrayLike<number>, weight: Float64Array, numEmbeddings: number, dim: number,
): Float64Array {
  const output = new Float64Array(indices.length * dim);
  for (let row = 0; row < indices.length; row++) {
    const index = indices[row];
    if (!Number.isInteger(index) || index < 0 || index >= numEmbeddings) {
      throw new Error(`embedding: index ${index} outside [0, ${numEmbeddings})`);
    }
    output.set(weight.subarray(index * dim, (index + 1) * dim), row * dim);
  }
  return output;
}

/** gradOutput: [count, dim]; returns gradWeight [num, dim], rows summed where an index repeats. */
export function embeddingBackward(
  gradOutput: Float64Array, indices: ArrayLike<number>, numEmbeddings: number, dim: number,
): Float64Array {
  const gradWeight = new Float64Array(numEmbeddings * dim);
  for (let row = 0; row < indices.length; row++) {
    const offset = indices[row] * dim;
    for (let column = 0; column < dim; column++) gradWeight[offset + column] += gradOutput[row * dim + column];
  }
  return gradWeight;
}

/** Concatenate NCHW tensors along C; all shapes must agree on N, H, W. */
export function concatChannelsForward(
  inputs: readonly Float64Array[], shapes: readonly Shape4[],
): { output: Float64Array; outputShape: Shape4 } {
  const [batchCount, , height, width] = shapes[0];
  for (const shape of shapes) {
    if (shape[0] !== batchCount || shape[2] !== height || shape[3] !== width) {
      throw new Error(`concatChannels: shape [${shape}] does not match N, H, W of [${shapes[0]}]`);
    }
  }
  const totalChannels = shapes.reduce((total, shape) => total + shape[1], 0);
  const plane = height * width;
  const output = new Float64Array(batchCount * totalChannels * plane);
  for (let batch = 0; batch < batchCount; batch++) {
    let channelOffset = 0;
    inputs.forEach((input, which) => {
      const channels = shapes[which][1];
      const block = input.subarray(batch * channels * plane, (batch + 1) * channels * plane);
      output.set(block, (batch * totalChannels + channelOffset) * plane);
      channelOffset += channels;
    });
  }
  return { output, outputShape: [batchCount, totalChannels, height, width] };
}

/** Splits gradOutput [N, sum C, H, W] back into one gradient per input. */
export function concatChannelsBackward(gradOutput: Float64Array, shapes: readonly Shape4[]): Float64Array[] {
  const [batchCount, , height, width] = shapes[0];
  const totalChannels = shapes.reduce((total, shape) => total + shape[1], 0);
  const plane = height * width;
  let channelOffset = 0;
  return shapes.map((shape) => {
    const channels = shape[1];
    const grad = new Float64Array(batchCount * channels * plane);
    for (let batch = 0; batch < batchCount; batch++) {
      const start = (batch * totalChannels + channelOffset) * plane;
      grad.set(gradOutput.subarray(start, start + channels * plane), batch * channels * plane);
    }
    channelOffset += channels;
    return grad;
  });
}

/** The input index that output element (batch, channel, row, column) of a pixel shuffle reads. */
function pixelShuffleSource(xShape: Shape4, factor: number, batch: number, channel: number, row: number, column: number): number {
  const [, inChannels, height, width] = xShape;
  const inChannel = channel * factor * factor + (row % factor) * factor + (column % factor);
  return ((batch * inChannels + inChannel) * height + Math.floor(row / factor)) * width + Math.floor(column / factor);
}

function pixelShuffleOutputShape(xShape: Shape4, factor: number): Shape4 {
  const [batchCount, inChannels, height, width] = xShape;
  if (inChannels % (factor * factor) !== 0) {
    throw new Error(`pixelShuffle: ${inChannels} channels not divisible by ${factor}^2`);
  }
  return [batchCount, inChannels / (factor * factor), height * factor, width * factor];
}

/** x: [N, C r^2, H, W] -> [N, C, H r, W r]; out[n, c, h r + i, w r + j] = x[n, c r^2 + i r + j, h, w]. */
export function pixelShuffleForward(
  x: Float64Array, xShape: Shape4, factor: number,
): { output: Float64Array; outputShape: Shape4 } {
  const outputShape = pixelShuffleOutputShape(xShape, factor);
  const [batchCount, channels, outHeight, outWidth] = outputShape;
  const output = new Float64Array(x.length);
  let index = 0;
  for (let batch = 0; batch < batchCount; batch++) {
    for (let channel = 0; channel < channels; channel++) {
      for (let row = 0; row < outHeight; row++) {
        for (let column = 0; column < outWidth; column++) {
          output[index++] = x[pixelShuffleSource(xShape, factor, batch, channel, row, column)];
        }
      }
    }
  }
  return { output, outputShape };
}

/** A permutation, so the backward is the inverse permutation (pixel unshuffle). */
export function pixelShuffleBackward(gradOutput: Float64Array, xShape: Shape4, factor: number): Float64Array {
  const [batchCount, channels, outHeight, outWidth] = pixelShuffleOutputShape(xShape, factor);
  const gradInput = new Float64Array(gradOutput.length);
  let index = 0;
  for (let batch = 0; batch < batchCount; batch++) {
    for (let channel = 0; channel < channels; channel++) {
      for (let row = 0; row < outHeight; row++) {
        for (let column = 0; column < outWidth; column++) {
          gradInput[pixelShuffleSource(xShape, factor, batch, channel, row, column)] = gradOutput[index++];
        }
      }
    }
  }
  return gradInput;
}

/** x: [N, C, H, W] -> [N, C, 1, 1], the mean of each plane. */
export function globalAvgPoolForward(x: Float64Array, xShape: Shape4): Float64Array {
  const [batchCount, channels, height, width] = xShape;
  const plane = height * width;
  const output = new Float64Array(batchCount * channels);
  for (let slot = 0; slot < output.length; slot++) {
    let total = 0;
    for (let pixel = 0; pixel < plane; pixel++) total += x[slot * plane + pixel];
    output[slot] = total / plane;
  }
  return output;
}

/** gradOutput: [N, C, 1, 1]; spreads each value evenly over its plane. */
export function globalAvgPoolBackward(gradOutput: Float64Array, xShape: Shape4): Float64Array {
  const plane = xShape[2] * xShape[3];
  const gradInput = new Float64Array(gradOutput.length * plane);
  for (let slot = 0; slot < gradOutput.length; slot++) {
    gradInput.fill(gradOutput[slot] / plane, slot * plane, (slot + 1) * plane);
  }
  return gradInput;
}
