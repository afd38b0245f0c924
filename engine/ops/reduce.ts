// Reductions: sum and mean over everything, per-channel sums of NCHW tensors, with backward.
// WGSL: shaders/reduce.wgsl (outer x mid x inner view, split over workgroups on a GPU),
// shaders/broadcast.wgsl for the gradients.

import { kernel } from '../kernel.ts';
import { record } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { linearGrid, MAX_WORKGROUPS_PER_DIMENSION } from './grid.ts';
import type { AdapterKind } from '../device.ts';

const reduceKernel = kernel('reduce');
const reduceVec4Kernel = kernel('reduce', 'main_vec4');
const reducePerThreadKernel = kernel('reduce', 'main_per_thread');
/** Values per output up to which one thread sums each output (main_per_thread) rather than a workgroup. */
const PER_THREAD_VALUES = 64;
const broadcastKernel = kernel('broadcast');

/** out[m] = scale * sum over (o, i) of x viewed as [outer, mid, inner]. */
export function reduceOuterInner(x: Tensor, outer: number, mid: number, inner: number, scaleBy = 1, shape: readonly number[] = [mid]): Tensor {
  if (outer * mid * inner !== x.size) throw new Error(`reduce: ${outer}x${mid}x${inner} does not match ${shapeString(x.shape)}`);
  const engine = x.engine;
  const parts = reduceParts(mid, outer * inner, engine.adapterKind);
  const out = engine.empty(shape, 'f32', 'sum');
  const label = `sum ${shapeString(x.shape)} -> ${shapeString(shape)}`;
  if (outer * inner <= PER_THREAD_VALUES) {
    engine.run(reducePerThreadKernel, {
      buffers: { x, out },
      params: { outer, mid, inner, scale: scaleBy, parts: 1 },
      workgroups: linearGrid(mid, 64),
      label,
      bytes: x.size * 4,
    });
    return out;
  }
  if (parts === 1) {
    runReduce(x, out, { outer, mid, inner, scale: scaleBy, parts }, label);
    return out;
  }
  const partial = engine.empty([mid, parts], 'f32', 'sum parts');
  runReduce(x, partial, { outer, mid, inner, scale: 1, parts }, `${label} (${parts} parts)`);
  runReduce(partial, out, { outer: 1, mid, inner: parts, scale: scaleBy, parts: 1 }, `${label} (adding the parts)`);
  partial.dispose();
  return out;
}

interface ReduceParams { outer: number; mid: number; inner: number; scale: number; parts: number }

/** One reduce dispatch ([mid, parts] workgroups); over vec4s (main_vec4) where inner runs are a multiple of 4 long. */
function runReduce(x: Tensor, out: Tensor, params: ReduceParams, label: string): void {
  const vec4 = params.inner % 4 === 0;
  x.engine.run(vec4 ? reduceVec4Kernel : reduceKernel, {
    buffers: vec4 ? { x4: x, out } : { x, out },
    params: { ...params },
    workgroups: [params.mid, params.parts],
    label,
    bytes: x.size * 4,
  });
}

/** Values each workgroup of a GPU's split reduction sums at least (16 per thread); also BatchNorm's. */
export const VALUES_PER_PART = 4096;
/** Workgroups a GPU's reduction aims for (also BatchNorm's); a software adapter runs one per output (its few cores are full anyway). */
export const GPU_REDUCE_WORKGROUPS = 1024;

/** Workgroups per output: 1 on a software adapter, else enough for GPU_REDUCE_WORKGROUPS, each over VALUES_PER_PART or more. */
export function reduceParts(outputs: number, valuesPerOutput: number, kind: AdapterKind): number {
  if (kind === 'cpu') return 1;
  return Math.max(1, Math.min(Math.ceil(GPU_REDUCE_WORKGROUPS / outputs), Math.floor(valuesPerOutput / VALUES_PER_PART), MAX_WORKGROUPS_PER_DIMENSION));
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
