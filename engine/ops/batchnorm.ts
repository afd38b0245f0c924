// BatchNorm2d forward and backward (PyTorch semantics: biased batch variance to normalise, unbiased
// variance folded into the running estimate). WGSL: shaders/batchnorm.wgsl.

import { kernel } from '../kernel.ts';
import { record } from '../autograd.ts';
import { saveActivation, withActivation } from './half-storage.ts';
import { registerRecipe } from './recompute.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { ELEMENTWISE_WORKGROUP, linearGrid, MAX_WORKGROUPS_PER_DIMENSION, workgroupSizeFor } from './grid.ts';
import { GPU_REDUCE_WORKGROUPS, VALUES_PER_PART, sumToShape } from './reduce.ts';
import type { AdapterKind } from '../device.ts';

/** Pixels each thread of a plane-grid element-wise pass walks (about: the last block may be short). */
const PIXELS_PER_THREAD = 4;
/** Elements (vec4s where the passes take them) of the smallest plane given its own workgroup. */
const MIN_PLANE_GRID_ELEMENTS = 64;

const kernels = {
  trainStatistics: kernel('batchnorm', 'train_statistics'),
  trainStatisticsVec4: kernel('batchnorm', 'train_statistics_vec4'),
  evalStatistics: kernel('batchnorm', 'eval_statistics'),
  finishStatistics: kernel('batchnorm', 'finish_statistics'),
  finishBackwardSums: kernel('batchnorm', 'finish_backward_sums'),
};

/** The forward, backward-sums and backward-input passes' entry points named `${pass}${suffix}`. */
const passKernels = (suffix: string) => ({
  forward: kernel('batchnorm', `normalize${suffix}`),
  reduce: kernel('batchnorm', `backward_reduce${suffix}`),
  input: kernel('batchnorm', `backward_input${suffix}`),
});

/**
 * The passes without and with the fused activation (`_act`), each over scalars or, for planes of a
 * multiple of 4, over vec4s (`_vec4`: 0.65-0.84x the time of a BatchNorm + LeakyReLU forward and
 * backward on the CGAN's shapes, bench/ab-batchnorm.ts; bench/RESULTS.md).
 */
const passes = {
  plain: passKernels(''), plainVec4: passKernels('_vec4'), act: passKernels('_act'), actVec4: passKernels('_act_vec4'),
};

/**
 * Images per part of the per-channel reductions, and parts: the whole batch in one part on a software
 * adapter (its two cores are busy with one workgroup per channel); on a GPU enough parts for about
 * GPU_REDUCE_WORKGROUPS workgroups, each over VALUES_PER_PART values or more (as reduce.ts's sums). From the shape
 * and adapter kind alone, so dry-run plans match.
 */
export function batchNormParts(batch: number, channels: number, plane: number, kind: AdapterKind): { batchPerPart: number; parts: number } {
  if (kind === 'cpu') return { batchPerPart: batch, parts: 1 };
  const wanted = Math.ceil(GPU_REDUCE_WORKGROUPS / channels);
  const batchPerPart = Math.min(batch, Math.max(Math.ceil(VALUES_PER_PART / plane), Math.ceil(batch / wanted)));
  return { batchPerPart, parts: Math.ceil(batch / batchPerPart) };
}

/**
 * See `span` in the WGSL: a [plane / 1024, channels, batch] grid avoids per-element divisions and reloads.
 * A plane of 64 to 255 elements (the SRGAN generator's 24 x 24 planes are 144 vec4s) is one workgroup of
 * about a quarter as many threads (workgroupSizeFor), not a linear grid with a division and four
 * per-channel loads per element: 0.82-0.94x the time of a BatchNorm + LeakyReLU forward and backward at
 * [16, 64, 24, 24], 0.72-0.85x at [16, 128, 16, 16]. Smaller planes keep the linear grid: a workgroup
 * per 4 x 4 plane took 1.25x its time (bench/RESULTS.md). Planes of a multiple of 4 take the `_vec4`
 * passes, whose threads step over vec4s (span4).
 */
export function elementwiseLaunch(batch: number, channels: number, plane: number): ElementwiseLaunch {
  const vec4 = plane % 4 === 0;
  const elements = vec4 ? plane / 4 : plane;
  if (elements >= MIN_PLANE_GRID_ELEMENTS && channels <= MAX_WORKGROUPS_PER_DIMENSION && batch <= MAX_WORKGROUPS_PER_DIMENSION) {
    const threads = elements >= ELEMENTWISE_WORKGROUP ? ELEMENTWISE_WORKGROUP
      : workgroupSizeFor(Math.ceil(elements / PIXELS_PER_THREAD), ELEMENTWISE_WORKGROUP, 8);
    return {
      vec4, workgroups: [Math.ceil(elements / (threads * PIXELS_PER_THREAD)), channels, batch], overrides: { PLANE_GRID: 1, ELEMENTWISE_THREADS: threads },
    };
  }
  const [x, y] = linearGrid(batch * channels * elements);
  return { vec4, workgroups: [x, y, 1], overrides: { PLANE_GRID: 0, ELEMENTWISE_THREADS: ELEMENTWISE_WORKGROUP } };
}

interface ElementwiseLaunch {
  vec4: boolean;
  workgroups: [number, number, number];
  overrides: Record<string, number>;
}

export interface BatchNormOptions {
  /** Batch statistics (and a running-statistics update) when true; running statistics when false. */
  training: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * The activation fused into `batchNormActivation`: LeakyReLU with a constant negative slope, or
 * PReLU with its learnable weight of shape [1].
 */
export type FusedActivation = { leakyRelu: number } | { prelu: Tensor };

interface Prepared {
  params: Record<string, number>;
  label: string;
  elementwise: ElementwiseLaunch;
  /** [mean (C), invstd (C)], kept out of tidy scopes: the tape owns it until backward. */
  stats: Tensor;
}

/** Checks shapes and computes the statistics (updating the running ones in training). */
function prepare(
  x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions, op: string, activation: FusedActivation | null,
): Prepared {
  const engine = x.engine;
  const [batch, channels, height = 1, width = 1] = x.shape;
  const plane = height * width;
  for (const [name, tensor] of [['weight', weight], ['bias', bias], ['runningMean', runningMean], ['runningVar', runningVar]] as const) {
    if (tensor.size !== channels) throw new Error(`${op}: ${name} ${shapeString(tensor.shape)} does not match ${channels} channels of x ${shapeString(x.shape)}`);
  }
  const count = batch * plane;
  if (options.training && count < 2) throw new Error(`${op}: training needs more than one value per channel, x is ${shapeString(x.shape)}`);
  const params = {
    batch, channels, plane,
    eps: options.eps ?? 1e-5,
    momentum: options.momentum ?? 0.1,
    correction: options.training ? 1 / count : 0,
    ...batchNormParts(batch, channels, plane, engine.adapterKind),
    // PReLU's slope is a tensor (act_slope); LeakyReLU's a constant.
    slope: activation && 'leakyRelu' in activation ? activation.leakyRelu : 0,
    slopeInBuffer: activation && 'prelu' in activation ? 1 : 0,
  };
  const label = `${op} ${shapeString(x.shape)}`;
  const elementwise = elementwiseLaunch(batch, channels, plane);
  const stats = engine.keep(engine.empty([2 * channels], 'f32', 'batchNorm.stats'));
  if (options.training) {
    // (count, shifted mean, M2) per part and channel; with one part the kernel stores the statistics itself
    // and the binding gets 3 pooled floats (WebGPU refuses a writable binding that aliases `stats`).
    const parts = engine.empty([params.parts === 1 ? 3 : 3 * params.parts * channels], 'f32', 'batchNorm.statisticsParts');
    const buffers = { stats, running_mean: runningMean, running_var: runningVar, statistics_parts: parts };
    // Over vec4s where the element-wise passes are.
    engine.run(elementwise.vec4 ? kernels.trainStatisticsVec4 : kernels.trainStatistics, {
      buffers: { ...buffers, [elementwise.vec4 ? 'x4' : 'x']: x }, params, workgroups: [channels, params.parts], label: `${label} statistics`, bytes: 2 * x.byteLength,
    });
    if (params.parts > 1) {
      engine.run(kernels.finishStatistics, { buffers: { ...buffers, x }, params, workgroups: [Math.ceil(channels / 64)], label: `${label} statistics of ${params.parts} parts` });
    }
    parts.dispose();
  } else {
    engine.run(kernels.evalStatistics, {
      buffers: { stats, running_mean: runningMean, running_var: runningVar },
      params, workgroups: [Math.ceil(channels / 64)], label: `${label} eval statistics`,
    });
  }
  return { params, label, elementwise, stats };
}

/**
 * x: [N, C, H, W] (or [N, C]); weight, bias, runningMean, runningVar: [C]. In training the running
 * statistics are updated in place; the caller counts num_batches_tracked.
 */
export function batchNorm2d(
  x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions,
): Tensor {
  return normalizeRecorded(x, weight, bias, runningMean, runningVar, options, null);
}

/**
 * act(batchNorm2d(x, ...)) in the passes of one BatchNorm: the forward writes only the activation,
 * and the tape keeps x rather than the BN output, so a training step stores one activation-sized
 * tensor less per layer and makes one element-wise pass fewer forward and one fewer backward.
 */
export function batchNormActivation(
  x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions, activation: FusedActivation,
): Tensor {
  return normalizeRecorded(x, weight, bias, runningMean, runningVar, options, activation);
}

/** Both ops: the plain passes without an activation, the `_act` passes with one. */
function normalizeRecorded(
  x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions, activation: FusedActivation | null,
): Tensor {
  const engine = x.engine;
  const channels = x.shape[1];
  const preluWeight = activation && 'prelu' in activation ? activation.prelu : null;
  if (preluWeight && preluWeight.size !== 1) throw new Error(`batchNormActivation: the PReLU weight must have one element, got ${shapeString(preluWeight.shape)}`);
  const op = !activation ? 'batchNorm2d' : preluWeight ? 'batchNorm2d+prelu' : 'batchNorm2d+leakyRelu';
  const { params, label, elementwise, stats } = prepare(x, weight, bias, runningMean, runningVar, options, op, activation);
  // The `_act` passes bind act_slope: PReLU's weight, or under LeakyReLU (its slope in params) the BN's
  // own weight as a stand-in that they never read.
  const slope = !activation ? null : preluWeight ?? weight;
  const vec4 = elementwise.vec4;
  const pass = passes[`${slope ? 'act' : 'plain'}${vec4 ? 'Vec4' : ''}` as const];
  // The passes' x, dy and out, under the `_vec4` passes' names where they run.
  const elementBuffers = (tensors: { x: Tensor; out?: Tensor; dy?: Tensor }): Record<string, Tensor> =>
    Object.fromEntries(Object.entries(tensors).map(([name, tensor]) => [vec4 ? `${name}4` : name, tensor]));
  const withSlope: Record<string, Tensor> = slope ? { act_slope: slope } : {};
  const normalize = (input: Tensor, rebuilt = false): Tensor => {
    const out = engine.empty(x.shape, 'f32', slope ? 'batchNormActivation' : 'batchNorm');
    engine.run(pass.forward, {
      buffers: { ...elementBuffers({ x: input, out }), saved_stats: stats, weight, bias, ...withSlope },
      params, workgroups: elementwise.workgroups, overrides: elementwise.overrides, label: rebuilt ? `${label} (rebuilt)` : label, bytes: 2 * x.byteLength,
    });
    return out;
  };
  const out = normalize(x);

  const inputs = preluWeight ? [x, weight, bias, preluWeight] : [x, weight, bias];
  const savedX = saveActivation(x, inputs);
  const kept = preluWeight ? [...savedX.stored, weight, bias, stats, preluWeight] : [...savedX.stored, weight, bias, stats];
  // A conv that keeps `out` can keep these instead (they stay for this op's backward anyway).
  if (engine.recomputeActivations) registerRecipe(out, { sources: kept, rebuild: () => withActivation(savedX, (input) => normalize(input, true)) });
  const result = record(out, inputs, op, (dy) => withActivation(savedX, (savedInput) => {
    // One slot per part and channel; several parts are added below.
    const slots = [params.parts * channels];
    let gradBias = engine.empty(slots, 'f32', 'batchNorm.gradBias');
    let gradWeight = engine.empty(slots, 'f32', 'batchNorm.gradWeight');
    // With an activation the sums recompute its input, and PReLU's weight gradient comes per channel.
    const slopePartials = slope ? engine.empty(slots, 'f32', 'batchNorm.slopePartials') : null;
    const activationBuffers: Record<string, Tensor> = slope ? { weight, bias, act_slope: slope, act_slope_partial: slopePartials! } : {};
    engine.run(pass.reduce, {
      buffers: { ...elementBuffers({ x: savedInput, dy }), saved_stats: stats, grad_weight: gradWeight, grad_bias: gradBias, ...activationBuffers },
      params, workgroups: [channels, params.parts], label: `${label} backward sums`, bytes: 2 * x.byteLength,
    });
    if (params.parts > 1) {
      const biasTotal = engine.empty([channels], 'f32', 'batchNorm.gradBias');
      const weightTotal = engine.empty([channels], 'f32', 'batchNorm.gradWeight');
      engine.run(kernels.finishBackwardSums, {
        buffers: { grad_bias: gradBias, grad_weight: gradWeight, grad_bias_total: biasTotal, grad_weight_total: weightTotal },
        params, workgroups: [Math.ceil(channels / 64)], label: `${label} backward sums of ${params.parts} parts`,
      });
      gradBias.dispose();
      gradWeight.dispose();
      gradBias = biasTotal;
      gradWeight = weightTotal;
    }
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = engine.empty(x.shape, 'f32', 'batchNorm.dx');
      engine.run(pass.input, {
        buffers: { ...elementBuffers({ x: savedInput, dy, out: dx }), saved_stats: stats, weight, bias, ...withSlope, sum_dy: gradBias, sum_dy_xhat: gradWeight },
        params, workgroups: elementwise.workgroups, overrides: elementwise.overrides, label: `${label} backward input`, bytes: 3 * x.byteLength,
      });
    }
    const gradSlope = slopePartials && preluWeight?.requiresGrad ? sumToShape(slopePartials, [1]) : null;
    slopePartials?.dispose();
    if (!weight.requiresGrad) gradWeight.dispose();
    if (!bias.requiresGrad) gradBias.dispose();
    const grads = [dx, weight.requiresGrad ? gradWeight : null, bias.requiresGrad ? gradBias : null];
    return preluWeight ? [...grads, gradSlope] : grads;
  }), kept);
  // The tape retained stats (and x's f16 copy) if it recorded; otherwise this frees them.
  savedX.release();
  stats.dispose();
  return result;
}
