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
const preluWeightGradientKernel = kernel('reduce', 'prelu_weight_gradient_vec4');
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
/** Workgroups a GPU's reduction aims for (also BatchNorm's). */
export const GPU_REDUCE_WORKGROUPS = 1024;

/** Workgroups a software adapter's reduction aims for: a few per core of a 2-8 core machine. */
const CPU_REDUCE_WORKGROUPS = 16;
/** Values each workgroup of a software adapter's split reduction sums at least (the parts' second pass and barriers are not free). */
const CPU_VALUES_PER_PART = 65_536;

/**
 * Workgroups per output: enough for GPU_REDUCE_WORKGROUPS, each over VALUES_PER_PART or more, on a GPU;
 * on a software adapter enough for CPU_REDUCE_WORKGROUPS over CPU_VALUES_PER_PART or more (one per
 * output where there are that many outputs: a whole-tensor sum in one workgroup ran on one core).
 */
export function reduceParts(outputs: number, valuesPerOutput: number, kind: AdapterKind): number {
  const [workgroups, values] = kind === 'cpu' ? [CPU_REDUCE_WORKGROUPS, CPU_VALUES_PER_PART] : [GPU_REDUCE_WORKGROUPS, VALUES_PER_PART];
  return Math.max(1, Math.min(Math.ceil(workgroups / outputs), Math.floor(valuesPerOutput / values), MAX_WORKGROUPS_PER_DIMENSION));
}

/**
 * The gradient of a single PReLU weight, the sum of x * dy where x <= 0, as a [1] tensor, summed as
 * the terms are formed (x.size a multiple of 4; otherwise null: the caller maps the terms and sums them).
 */
export function preluWeightGradient(x: Tensor, dy: Tensor): Tensor | null {
  if (x.size % 4 !== 0 || x.size === 0) return null;
  const engine = x.engine;
  const parts = reduceParts(1, x.size, engine.adapterKind);
  const out = engine.empty([1], 'f32', 'prelu weight gradient');
  const partial = parts > 1 ? engine.empty([1, parts], 'f32', 'prelu weight gradient parts') : out;
  engine.run(preluWeightGradientKernel, {
    buffers: { x4: x, dy4: dy, out: partial },
    params: { outer: 1, mid: 1, inner: x.size, scale: 1, parts },
    workgroups: [1, parts],
    label: `preluWeightGradient ${shapeString(x.shape)}${parts > 1 ? ` (${parts} parts)` : ''}`,
    bytes: 2 * x.size * 4,
  });
  if (parts > 1) {
    runReduce(partial, out, { outer: 1, mid: 1, inner: parts, scale: 1, parts: 1 }, 'preluWeightGradient (adding the parts)');
    partial.dispose();
  }
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
