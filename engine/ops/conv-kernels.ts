// The three GPU building blocks behind conv2d and convTranspose2d (engine/ops/conv.ts): a weight
// repack, the implicit-GEMM gather that computes either op's forward (and so either op's
// grad-input), and the chunked weight-gradient GEMM. WGSL: shaders/conv_*.wgsl.

import { kernel } from '../kernel.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { linearGrid } from './grid.ts';

const packKernel = kernel('conv_pack_weights');
const gatherKernel = kernel('conv_gather');
const stripGatherKernel = kernel('conv_gather', 'main_strip');
const weightGradientKernel = kernel('conv_grad_weight');
const reduceChunksKernel = kernel('conv_grad_weight', 'reduce_chunks');

const GATHER_WORKGROUP = 64;
const MAX_WORKGROUPS = 65535;

/**
 * Register blocking: at most this many fours of output channels per gather thread (1, 2 or 4) and
 * of weight-gradient rows per thread; `stripReuse` 1 picks conv_gather's main_strip where the strip
 * fits. Mutable so that bench/kernels.ts can compare variants in one process (bench/RESULTS.md
 * has the A/B figures behind these defaults).
 */
export const convTuning = { maxChannelQuads: 2, maxWeightGradQuads: 4, stripReuse: 1 };

/** conv_gather.wgsl's `strip` array length. */
const MAX_STRIP_WIDTH = 16;

/** Fours of channels per thread for `channels`: no more than the layer can fill. */
function channelQuadsFor(channels: number, maximum: number): number {
  return channels <= 4 ? 1 : channels <= 8 ? Math.min(2, maximum) : maximum;
}

/** Sizes of one gather: input [N, Cin, H, W] -> output [N, Cout, OH, OW]. */
export interface GatherGeometry {
  batch: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  outHeight: number;
  outWidth: number;
  kernelHeight: number;
  kernelWidth: number;
  stride: number;
  padding: number;
  /** convTranspose2d's relation (output = input * stride - padding + tap) instead of conv2d's. */
  transposed: boolean;
}

/**
 * weight [A, B, kH, kW] -> [Cin, kH, kW, Cout padded to 4]: vec4 loads of four output channels.
 * `outputIsFirst`: A is the output channel (conv2d layout) rather than the input channel.
 */
function packWeights(weight: Tensor, outputIsFirst: boolean, channelBlock: number): Tensor {
  const [first, second, kernelHeight, kernelWidth] = weight.shape;
  const outChannels = outputIsFirst ? first : second;
  const inChannels = outputIsFirst ? second : first;
  const paddedOutChannels = Math.ceil(outChannels / channelBlock) * channelBlock;
  const taps = kernelHeight * kernelWidth;
  const count = inChannels * taps * paddedOutChannels;
  const packed = weight.engine.empty([count], 'f32', 'conv packed weights');
  weight.engine.run(packKernel, {
    buffers: { weight, packed },
    params: { count, first, second, taps, paddedOutChannels, outputIsFirst: outputIsFirst ? 1 : 0 },
    workgroups: linearGrid(count),
    label: `conv pack ${shapeString(weight.shape)}`,
    bytes: (weight.size + count) * 4,
  });
  return packed;
}

/** Multiply-adds a gather really does (taps that land outside the input excluded only for convT phases). */
export function gatherMacs(g: GatherGeometry): number {
  const taps = g.kernelHeight * g.kernelWidth;
  const perOutput = g.transposed ? (g.inChannels * taps) / (g.stride * g.stride) : g.inChannels * taps;
  return g.batch * g.outChannels * g.outHeight * g.outWidth * perOutput;
}

/** out [N, Cout, OH, OW] = the conv2d (or convTranspose2d, if g.transposed) of x, plus bias. */
export function gatherConvolution(x: Tensor, weight: Tensor, outputIsFirst: boolean, bias: Tensor | null, g: GatherGeometry): Tensor {
  const engine = x.engine;
  const out = engine.empty([g.batch, g.outChannels, g.outHeight, g.outWidth], 'f32', g.transposed ? 'convTranspose2d' : 'conv2d');
  const channelQuads = channelQuadsFor(g.outChannels, convTuning.maxChannelQuads);
  const packed = packWeights(weight, outputIsFirst, 4 * channelQuads);
  // Phase 0 has the most rows and columns; threads past their own phase's extent return at once.
  const phaseStride = g.transposed ? g.stride : 1;
  const threads = g.batch * Math.ceil(g.outHeight / phaseStride) * Math.ceil(Math.ceil(g.outWidth / phaseStride) / 4);
  const groups = Math.ceil(threads / GATHER_WORKGROUP);
  if (groups > MAX_WORKGROUPS) throw new Error(`conv: output ${shapeString(out.shape)} is too large for one dispatch`);
  // main_strip loads each input column once per row and channel instead of once per tap.
  const stripPixelStep = g.transposed ? 1 : g.stride;
  const stripWidth = 3 * stripPixelStep + (g.transposed ? Math.ceil(g.kernelWidth / g.stride) : g.kernelWidth);
  const strip = convTuning.stripReuse === 1 && stripWidth <= MAX_STRIP_WIDTH;
  engine.run(strip ? stripGatherKernel : gatherKernel, {
    buffers: { x, weights: packed, bias: bias ?? packed, out },
    params: {
      batch: g.batch, inChannels: g.inChannels, inHeight: g.inHeight, inWidth: g.inWidth,
      outChannels: g.outChannels, outHeight: g.outHeight, outWidth: g.outWidth,
      kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth, stride: g.stride, padding: g.padding,
      transposed: g.transposed ? 1 : 0, hasBias: bias ? 1 : 0,
    },
    overrides: strip ? { CHANNEL_QUADS: channelQuads, STRIP_WIDTH: stripWidth, STRIP_PIXEL_STEP: stripPixelStep } : { CHANNEL_QUADS: channelQuads },
    workgroups: [groups, Math.ceil(g.outChannels / (4 * channelQuads)), phaseStride * phaseStride],
    label: `${out.name} ${shapeString(x.shape)} -> ${shapeString(out.shape)} k${g.kernelHeight}x${g.kernelWidth} s${g.stride} p${g.padding}`,
    flops: 2 * gatherMacs(g),
    bytes: (x.size + packed.size + out.size) * 4,
  });
  packed.dispose();
  return out;
}

/** Enough workgroups to keep every core busy when the output alone does not provide them. */
const TARGET_WORKGROUPS = 32;
const MIN_ROWS_PER_CHUNK = 4;

/**
 * dW [A, B, kH, kW] = sum over n, gy, gx of gradient[n, a, gy, gx] * input[n, b, gy*s - p + ky, gx*s - p + kx]
 * (see shaders/conv_grad_weight.wgsl for which tensor plays which role in each op).
 */
export function convolutionWeightGradient(gradient: Tensor, input: Tensor, kernelHeight: number, kernelWidth: number, stride: number, padding: number): Tensor {
  const engine = gradient.engine;
  const [batch, gradChannels, gradHeight, gradWidth] = gradient.shape;
  const [, inChannels, inHeight, inWidth] = input.shape;
  const taps = kernelHeight * kernelWidth;
  const groupsX = Math.ceil((Math.ceil(inChannels / 4) * taps) / GATHER_WORKGROUP);
  const aQuads = channelQuadsFor(gradChannels, convTuning.maxWeightGradQuads);
  const groupsY = Math.ceil(gradChannels / (4 * aQuads));
  const rows = batch * gradHeight;
  const chunks = Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / (groupsX * groupsY)), Math.floor(rows / MIN_ROWS_PER_CHUNK)));
  const rowsPerChunk = Math.ceil(rows / chunks);
  const usedChunks = Math.ceil(rows / rowsPerChunk);
  const shape = [gradChannels, inChannels, kernelHeight, kernelWidth];
  const size = gradChannels * inChannels * taps;
  const partial = engine.empty(usedChunks === 1 ? shape : [usedChunks, ...shape], 'f32', usedChunks === 1 ? 'conv weight grad' : 'conv weight grad partial');
  const params = {
    batch, gradChannels, gradHeight, gradWidth, inChannels, inHeight, inWidth,
    kernelHeight, kernelWidth, stride, padding, rowsPerChunk, chunks: usedChunks,
  };
  engine.run(weightGradientKernel, {
    buffers: { gradient, input, partial },
    params,
    overrides: { A_QUADS: aQuads },
    workgroups: [groupsX, groupsY, usedChunks],
    label: `conv weight grad ${shapeString(gradient.shape)} x ${shapeString(input.shape)} -> ${shapeString(shape)}`,
    flops: 2 * size * rows * gradWidth,
    bytes: (gradient.size + input.size + partial.size) * 4,
  });
  if (usedChunks === 1) return partial;
  const result = engine.empty(shape, 'f32', 'conv weight grad');
  engine.run(reduceChunksKernel, {
    buffers: { partialSums: partial, result },
    params,
    workgroups: linearGrid(size),
    label: `conv weight grad reduce ${usedChunks} chunks`,
    bytes: (partial.size + size) * 4,
  });
  partial.dispose();
  return result;
}
