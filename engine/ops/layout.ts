// Data-movement ops, each with its backward beside it: reshape (a view), embedding lookup, channel
// concatenation, pixel shuffle and global average pooling (NCHW, PyTorch semantics).
// WGSL: shaders/embedding.wgsl, shaders/concat.wgsl, shaders/pixel_shuffle.wgsl, shaders/pool.wgsl.

import { kernel } from '../kernel.ts';
import { record } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';
import { shapeSize, shapeString } from '../tensor.ts';
import { linearGrid, MAX_WORKGROUPS_PER_DIMENSION } from './grid.ts';

const kernels = {
  embedding: kernel('embedding', 'embedding_forward'),
  embeddingBackward: kernel('embedding', 'embedding_backward'),
  copyChannels: kernel('concat', 'copy_channels'),
  pixelShuffle: kernel('pixel_shuffle', 'pixel_shuffle'),
  pixelUnshuffle: kernel('pixel_shuffle', 'pixel_unshuffle'),
  avgPool: kernel('pool', 'avg_pool'),
  avgPoolBackward: kernel('pool', 'avg_pool_backward'),
};

// ---- reshape ----

/** `shape` with at most one -1 resolved so that it holds `size` elements. */
function resolveShape(shape: readonly number[], size: number, op: string): number[] {
  const free = shape.indexOf(-1);
  if (free !== shape.lastIndexOf(-1)) throw new Error(`${op}: more than one -1 in ${shapeString(shape)}`);
  const known = shapeSize(shape.filter((_, i) => i !== free));
  const resolved = shape.map((dim, i) => (i === free ? (known === 0 ? 0 : size / known) : dim));
  if (shapeSize(resolved) !== size || resolved.some((dim) => !Number.isInteger(dim) || dim < 0)) {
    throw new Error(`${op}: cannot reshape ${size} elements to ${shapeString(shape)}`);
  }
  return resolved;
}

/** The same elements in another shape (one dimension may be -1): a view of x's buffer, no copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const out = x.engine.view(x, resolveShape(shape, x.size, 'reshape'));
  return record(out, [x], 'reshape', (dy) => [dy.engine.view(dy, x.shape)]);
}

/** [N, ...] -> [N, product of the rest], as before a linear layer. */
export function flatten(x: Tensor): Tensor {
  return reshape(x, [x.shape[0] ?? 1, -1]);
}

// ---- embedding ----

/**
 * Throws unless every index lies in [0, rows). The GPU op assumes valid indices (it reads an
 * invalid one as a zero row rather than failing), so call this where indices are made.
 */
export function checkEmbeddingIndices(indices: ArrayLike<number>, rows: number): void {
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!Number.isInteger(index) || index < 0 || index >= rows) {
      throw new Error(`embedding: index ${index} at position ${i} is outside [0, ${rows})`);
    }
  }
}

/** indices: i32 [N] (valid, see checkEmbeddingIndices); weight: [rows, dim] -> [N, dim]. */
export function embedding(indices: Tensor, weight: Tensor): Tensor {
  if (indices.dtype !== 'i32' || indices.shape.length !== 1) throw new Error(`embedding: indices must be i32 [N], got ${indices}`);
  if (weight.shape.length !== 2) throw new Error(`embedding: weight must be [rows, dim], got ${shapeString(weight.shape)}`);
  const [rows, dim] = weight.shape;
  const lookups = indices.size;
  const engine = weight.engine;
  const out = engine.empty([lookups, dim], 'f32', 'embedding');
  engine.run(kernels.embedding, {
    buffers: { indices, weight, out },
    params: { count: out.size, dim, rows, lookups },
    workgroups: linearGrid(out.size),
    label: `embedding ${shapeString(weight.shape)}[${lookups}]`,
    bytes: 8 * out.size,
  });
  return record(out, [indices, weight], 'embedding', (dy) => {
    if (!weight.requiresGrad) return [null, null];
    // Every weight element sums its matching upstream rows in index order: deterministic.
    const gradWeight = engine.empty(weight.shape, 'f32', 'embedding dW');
    engine.run(kernels.embeddingBackward, {
      buffers: { indices, gradOutput: dy, out: gradWeight },
      params: { count: gradWeight.size, dim, rows, lookups },
      workgroups: linearGrid(gradWeight.size),
      label: `embedding backward ${shapeString(weight.shape)}[${lookups}]`,
    });
    return [null, gradWeight];
  }, [indices]);
}

// ---- channel concatenation ----

/** Copies all channels of `x` [N, C, ...] into channels [offset, offset + C) of `out`, or back. */
function copyChannels(x: Tensor, out: Tensor, channels: number, plane: number, sourceOffset: number, targetOffset: number): void {
  const count = x.shape[0] * channels * plane;
  x.engine.run(kernels.copyChannels, {
    buffers: { x, out },
    params: { count, channels, plane, sourceChannels: x.shape[1], sourceOffset, targetChannels: out.shape[1], targetOffset },
    workgroups: linearGrid(count),
    label: `copyChannels ${shapeString(x.shape)} -> ${shapeString(out.shape)}`,
    bytes: 8 * count,
  });
}

/** [N, C_i, ...rest] for each input -> [N, sum C_i, ...rest] (torch.cat(dim=1)). */
export function concatChannels(inputs: readonly Tensor[]): Tensor {
  if (inputs.length === 0) throw new Error('concatChannels: no inputs');
  const first = inputs[0];
  const rest = first.shape.slice(2);
  for (const input of inputs) {
    const sameRest = input.shape.length === first.shape.length && input.shape.slice(2).every((dim, i) => dim === rest[i]);
    if (input.shape.length < 2 || input.shape[0] !== first.shape[0] || !sameRest) {
      throw new Error(`concatChannels: ${shapeString(input.shape)} does not match ${shapeString(first.shape)} outside dim 1`);
    }
  }
  const plane = shapeSize(rest);
  const totalChannels = inputs.reduce((total, input) => total + input.shape[1], 0);
  const out = first.engine.empty([first.shape[0], totalChannels, ...rest], 'f32', 'concat');
  const offsets: number[] = [];
  let offset = 0;
  for (const input of inputs) {
    offsets.push(offset);
    copyChannels(input, out, input.shape[1], plane, 0, offset);
    offset += input.shape[1];
  }
  return record(out, [...inputs], 'concatChannels', (dy) => inputs.map((input, i) => {
    if (!input.requiresGrad) return null;
    const grad = dy.engine.empty(input.shape, 'f32', 'concat split');
    copyChannels(dy, grad, input.shape[1], plane, offsets[i], 0);
    return grad;
  }));
}

// ---- pixel shuffle ----

function rearrange(x: Tensor, factor: number, shuffle: boolean): Tensor {
  const op = shuffle ? 'pixelShuffle' : 'pixelUnshuffle';
  if (x.shape.length !== 4 || !Number.isInteger(factor) || factor < 1) throw new Error(`${op}: needs [N, C, H, W] and an integer factor, got ${shapeString(x.shape)}, ${factor}`);
  const [n, c, h, w] = x.shape;
  const squared = factor * factor;
  if (shuffle && c % squared !== 0) throw new Error(`pixelShuffle: ${c} channels are not divisible by ${factor}^2`);
  if (!shuffle && (h % factor !== 0 || w % factor !== 0)) throw new Error(`pixelUnshuffle: ${h}x${w} is not divisible by ${factor}`);
  const outShape = shuffle ? [n, c / squared, h * factor, w * factor] : [n, c * squared, h / factor, w / factor];
  // The kernel walks the deep side's pixels, one shuffled plane (n, c) per grid layer.
  const [height, width] = shuffle ? [h, w] : [h / factor, w / factor];
  const planes = n * (shuffle ? c / squared : c);
  const out = x.engine.empty(outShape, 'f32', op);
  for (let first = 0; first < planes; first += MAX_WORKGROUPS_PER_DIMENSION) {
    x.engine.run(shuffle ? kernels.pixelShuffle : kernels.pixelUnshuffle, {
      buffers: { x, out },
      params: { height, width, factor, plane_offset: first },
      workgroups: [Math.ceil(width / 64), height, Math.min(MAX_WORKGROUPS_PER_DIMENSION, planes - first)],
      label: `${op} ${shapeString(x.shape)} r=${factor}`,
      bytes: (8 * out.size * Math.min(MAX_WORKGROUPS_PER_DIMENSION, planes - first)) / planes,
    });
  }
  return out;
}

/** [N, C r^2, H, W] -> [N, C, H r, W r] (torch.nn.PixelShuffle). */
export function pixelShuffle(x: Tensor, factor: number): Tensor {
  const out = rearrange(x, factor, true);
  return record(out, [x], 'pixelShuffle', (dy) => [rearrange(dy, factor, false)]);
}

/** [N, C, H r, W r] -> [N, C r^2, H, W] (torch.nn.PixelUnshuffle), the inverse permutation. */
export function pixelUnshuffle(x: Tensor, factor: number): Tensor {
  const out = rearrange(x, factor, false);
  return record(out, [x], 'pixelUnshuffle', (dy) => [rearrange(dy, factor, true)]);
}

// ---- pooling ----

/** [N, C, H, W] -> [N, C, 1, 1], the mean of each plane. */
export function globalAvgPool(x: Tensor): Tensor {
  if (x.shape.length !== 4) throw new Error(`globalAvgPool: needs [N, C, H, W], got ${shapeString(x.shape)}`);
  const [n, c, h, w] = x.shape;
  const plane = h * w;
  const engine = x.engine;
  const out = engine.empty([n, c, 1, 1], 'f32', 'globalAvgPool');
  engine.run(kernels.avgPool, {
    buffers: { x, out },
    params: { count: n * c, plane },
    workgroups: linearGrid(n * c),
    label: `globalAvgPool ${shapeString(x.shape)}`,
    bytes: 4 * (x.size + out.size),
  });
  return record(out, [x], 'globalAvgPool', (dy) => {
    const grad = engine.empty(x.shape, 'f32', 'globalAvgPool backward');
    engine.run(kernels.avgPoolBackward, {
      buffers: { x: dy, out: grad },
      params: { count: x.size, plane },
      workgroups: linearGrid(x.size),
      label: `globalAvgPool backward ${shapeString(x.shape)}`,
    });
    return [grad];
  });
}
