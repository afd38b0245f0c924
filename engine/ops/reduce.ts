// Reductions: sum and mean over everything, per-channel sums of NCHW tensors, with backward.
// WGSL: shaders/reduce.wgsl (outer x mid x inner view), shaders/broadcast.wgsl for the gradients.

import { kernel } from '../kernel.ts';
import { record } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { linearGrid } from './grid.ts';

const reduceKernel = kernel('reduce');
const broadcastKernel = kernel('broadcast');

/** out[m] = scale * sum over (o, i) of x viewed as [outer, mid, inner]. */
export function reduceOuterInner(x: Tensor, outer: number, mid: number, inner: number, scaleBy = 1, shape: readonly number[] = [mid]): Tensor {
  if (outer * mid * inner !== x.size) throw new Error(`reduce: ${outer}x${mid}x${inner} does not match ${shapeString(x.shape)}`);
  const out = x.engine.empty(shape, 'f32', 'sum');
  x.engine.run(reduceKernel, {
    buffers: { x, out },
    params: { outer, mid, inner, scale: scaleBy },
    workgroups: [mid],
    label: `sum ${shapeString(x.shape)} -> ${shapeString(shape)}`,
    bytes: x.size * 4,
  });
  return out;
}

/** out[o, m, i] = scale * g[m]: the gradient of reduceOuterInner. */
export function broadcastOuterInner(g: Tensor, shape: readonly number[], outer: number, mid: number, inner: number, scaleBy = 1): Tensor {
  const out = g.engine.empty(shape, 'f32', 'broadcast');
  g.engine.run(broadcastKernel, {
    buffers: { g, out },
    params: { count: outer * mid * inner, mid, inner, scale: scaleBy },
    workgroups: linearGrid(outer * mid * inner),
    label: `broadcast ${shapeString(g.shape)} -> ${shapeString(shape)}`,
  });
  return out;
}

/** Sum of all elements, as a tensor of `shape` (default [1]). Used for the gradients of broadcasts. */
export function sumToShape(x: Tensor, shape: readonly number[] = [1]): Tensor {
  return reduceOuterInner(x, 1, 1, x.size, 1, shape);
}

export function sum(x: Tensor): Tensor {
  const out = reduceOuterInner(x, 1, 1, x.size, 1, [1]);
  return record(out, [x], 'sum', (dy) => [broadcastOuterInner(dy, x.shape, 1, 1, x.size)]);
}

export function mean(x: Tensor): Tensor {
  const out = reduceOuterInner(x, 1, 1, x.size, 1 / x.size, [1]);
  return record(out, [x], 'mean', (dy) => [broadcastOuterInner(dy, x.shape, 1, 1, x.size, 1 / x.size)]);
}

/** x: [N, C, H, W] -> [C], summing over batch and space (bias gradients, batch statistics). */
export function sumChannels(x: Tensor): Tensor {
  const [n, c, h = 1, w = 1] = x.shape;
  const out = reduceOuterInner(x, n, c, h * w, 1, [c]);
  return record(out, [x], 'sumChannels', (dy) => [broadcastOuterInner(dy, x.shape, n, c, h * w)]);
}
