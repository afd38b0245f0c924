// The Winograd gathers for k3 s1 p1 layers (conv2d keeping the size, and so its grad-input, a
// convTranspose2d of the same geometry): F(2x2, 3x3), 16 multiplies where the direct gather does 36 per
// 2x2 outputs and (ci, co) pair (shaders/conv_winograd_k3.wgsl has the algebra), and F(4x4, 3x3), 36
// where it does 144 per 4x4 outputs (shaders/conv_winograd_k3_f4.wgsl). The passes, layouts and chunks
// are those of the k4 s2 p1 Winograd gather (runWinogradGather, engine/ops/conv-winograd.ts), with 4x4
// input tiles at a step of 2 and 2x2 output tiles, or 6x6 ones at a step of 4 and 4x4 output tiles.

import { kernel } from '../kernel.ts';
import type { Tensor } from '../tensor.ts';
import type { GatherGeometry } from './conv-kernels.ts';
import {
  GEMM_CHANNELS, K_STEP, MAX_IMAGE_BYTES, runWinogradGather, TILE6_POSITIONS, TILE_POSITIONS, winogradGatherPasses, type WinogradGatherForm, type WinogradSizes,
} from './conv-winograd.ts';

/** The GEMMs' sizes: the input channels into the output channels, 2x2 tiles of the output. */
function sizesOf(g: GatherGeometry): WinogradSizes {
  const m = Math.ceil(g.outChannels / GEMM_CHANNELS) * GEMM_CHANNELS;
  return { k: g.inChannels, m, realM: g.outChannels, tilesY: Math.ceil(g.outHeight / 2), tilesX: Math.ceil(g.outWidth / 2) };
}

/**
 * Whether the k3 Winograd gather computes `g`: a 3x3 kernel at stride 1 and padding 1 (the output the
 * input's size), an even reduction (K_STEP), at least GEMM_CHANNELS output channels, and one tile row's
 * transformed tiles and products within MAX_IMAGE_BYTES.
 */
export function winogradK3Applies(g: GatherGeometry): boolean {
  return k3Fits(g, sizesOf(g), TILE_POSITIONS);
}

/**
 * The k3 s1 p1 geometry, an even reduction, GEMM_CHANNELS output channels, and one tile row's
 * transformed tiles of `positions` within MAX_IMAGE_BYTES (runWinogradGather bands larger images).
 */
function k3Fits(g: GatherGeometry, { k, m, tilesX }: WinogradSizes, positions: number): boolean {
  if (g.kernelHeight !== 3 || g.kernelWidth !== 3 || g.stride !== 1 || g.padding !== 1) return false;
  return g.outHeight === g.inHeight && g.outWidth === g.inWidth && k % K_STEP === 0 && g.outChannels >= GEMM_CHANNELS
    && 4 * positions * Math.max(k, m) * tilesX <= MAX_IMAGE_BYTES;
}

const K3_FORM: WinogradGatherForm = { name: 'winograd k3', positions: TILE_POSITIONS, sizes: sizesOf, ...winogradGatherPasses('conv_winograd_k3') };

/**
 * out = `fused` activation of the gather of x with `weight` ([Cout, Cin, 3, 3] in the gather's channels
 * when `outputIsFirst`, else [Cin, Cout, 3, 3]) plus bias, for a `g` that winogradK3Applies to.
 */
export function winogradK3Gather(
  x: Tensor, weight: Tensor, outputIsFirst: boolean, bias: Tensor | null, out: Tensor, g: GatherGeometry, fused: Record<string, number>,
): void {
  runWinogradGather(K3_FORM, x, weight, outputIsFirst, bias, out, g, fused);
}

/** F(4x4, 3x3)'s GEMM sizes: those of sizesOf over 4x4 tiles of the output. */
function sizesOf4(g: GatherGeometry): WinogradSizes {
  return { ...sizesOf(g), tilesY: Math.ceil(g.outHeight / 4), tilesX: Math.ceil(g.outWidth / 4) };
}

/** Whether the F(4x4, 3x3) gather computes `g`: as winogradK3Applies, with its own tiles' bytes. */
export function winogradK3F4Applies(g: GatherGeometry): boolean {
  return k3Fits(g, sizesOf4(g), TILE6_POSITIONS);
}

/** Output size from which the F(4x4, 3x3) gather is the default on a CPU adapter (4x4 tiles waste little). */
const F4_DEFAULT_MIN_SIZE = 8;

/**
 * Whether the F(4x4, 3x3) gather should be `g`'s default on lavapipe: it applies and the output is at
 * least 8 x 8. On the SRGAN's k3 s1 shapes (64-512 channels, 12-128 px) it took 0.56-0.74x the time of
 * F(2x2, 3x3) and 0.40-0.75x that of subgroup32, 64 input channels included (bench/RESULTS.md), so
 * F(2x2, 3x3), the default from 128 input channels before it, is now a tuner candidate only.
 */
export function winogradK3F4ByDefault(g: GatherGeometry): boolean {
  return winogradK3F4Applies(g) && Math.min(g.outHeight, g.outWidth) >= F4_DEFAULT_MIN_SIZE;
}

const K3_F4_FORM: WinogradGatherForm = {
  name: 'winograd k3 f4', positions: TILE6_POSITIONS, sizes: sizesOf4, ...winogradGatherPasses('conv_winograd_k3_f4'),
  transformOutputVec4: kernel('conv_winograd_k3_f4', 'transform_output_vec4'),
  transformInputRows: kernel('conv_winograd_k3_f4', 'transform_input_rows'),
};

/** winogradK3Gather with F(4x4, 3x3), for a `g` that winogradK3F4Applies to. */
export function winogradK3F4Gather(
  x: Tensor, weight: Tensor, outputIsFirst: boolean, bias: Tensor | null, out: Tensor, g: GatherGeometry, fused: Record<string, number>,
): void {
  runWinogradGather(K3_F4_FORM, x, weight, outputIsFirst, bias, out, g, fused);
}
