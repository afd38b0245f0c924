// The Winograd F(2x2, 3x3) gather for k3 s1 p1 layers (conv2d keeping the size, and so its grad-input,
// a convTranspose2d of the same geometry): 16 multiplies where the direct gather does 36 per 2x2
// outputs and (ci, co) pair. shaders/conv_winograd_k3.wgsl has the algebra. The passes, layouts and
// chunks are those of the k4 s2 p1 Winograd gather (runWinogradGather, engine/ops/conv-winograd.ts),
// with 4x4 input tiles at a step of 2 and 2x2 output tiles.

import type { Tensor } from '../tensor.ts';
import type { GatherGeometry } from './conv-kernels.ts';
import {
  GEMM_CHANNELS, K_STEP, MAX_IMAGE_BYTES, runWinogradGather, TILE_POSITIONS, winogradGatherPasses, type WinogradGatherForm, type WinogradSizes,
} from './conv-winograd.ts';

/** The GEMMs' sizes: the input channels into the output channels, 2x2 tiles of the output. */
function sizesOf(g: GatherGeometry): WinogradSizes {
  const m = Math.ceil(g.outChannels / GEMM_CHANNELS) * GEMM_CHANNELS;
  return { k: g.inChannels, m, realM: g.outChannels, tilesY: Math.ceil(g.outHeight / 2), tilesX: Math.ceil(g.outWidth / 2) };
}

/**
 * Whether the k3 Winograd gather computes `g`: a 3x3 kernel at stride 1 and padding 1 (the output the
 * input's size), an even reduction (K_STEP), at least GEMM_CHANNELS output channels, and one image's
 * transformed tiles and products within MAX_IMAGE_BYTES.
 */
export function winogradK3Applies(g: GatherGeometry): boolean {
  if (g.kernelHeight !== 3 || g.kernelWidth !== 3 || g.stride !== 1 || g.padding !== 1) return false;
  const { k, m, tilesY, tilesX } = sizesOf(g);
  const imageBytes = 4 * TILE_POSITIONS * Math.max(k, m) * tilesY * tilesX;
  return g.outHeight === g.inHeight && g.outWidth === g.inWidth && k % K_STEP === 0 && g.outChannels >= GEMM_CHANNELS
    && imageBytes <= MAX_IMAGE_BYTES;
}

/** Reduction and output size from which the k3 Winograd gather is the default on a CPU adapter. */
const DEFAULT_MIN_REDUCTION = 128;
const DEFAULT_MIN_SIZE = 8;

/**
 * Whether the k3 Winograd gather should be `g`'s default on lavapipe: it applies, the reduction (input
 * channels) is 128 or more and the output at least 8 x 8. Timed shape by shape at batch 16, it took
 * 0.67-0.80x the best direct gather's CPU time with 128-512 input channels, 0.89-1.05x with 64
 * (bench/RESULTS.md). `--autotune` picks shape by shape.
 */
export function winogradK3ByDefault(g: GatherGeometry): boolean {
  return winogradK3Applies(g) && g.inChannels >= DEFAULT_MIN_REDUCTION && Math.min(g.outHeight, g.outWidth) >= DEFAULT_MIN_SIZE;
}

const K3_FORM: WinogradGatherForm = { name: 'winograd k3', sizes: sizesOf, ...winogradGatherPasses('conv_winograd_k3') };

/**
 * out = `fused` activation of the gather of x with `weight` ([Cout, Cin, 3, 3] in the gather's channels
 * when `outputIsFirst`, else [Cin, Cout, 3, 3]) plus bias, for a `g` that winogradK3Applies to.
 */
export function winogradK3Gather(
  x: Tensor, weight: Tensor, outputIsFirst: boolean, bias: Tensor | null, out: Tensor, g: GatherGeometry, fused: Record<string, number>,
): void {
  runWinogradGather(K3_FORM, x, weight, outputIsFirst, bias, out, g, fused);
}
