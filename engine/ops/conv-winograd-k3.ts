// The Winograd F(2x2, 3x3) gather for k3 s1 p1 layers (conv2d keeping the size, and so its grad-input,
// a convTranspose2d of the same geometry): 16 multiplies where the direct gather does 36 per 2x2
// outputs and (ci, co) pair. shaders/conv_winograd_k3.wgsl has the algebra. The passes, layouts and
// chunks are those of the k4 s2 p1 Winograd gather (engine/ops/conv-winograd.ts), with 4x4 input tiles
// at a step of 2 and 2x2 output tiles.

import { kernel } from '../kernel.ts';
import type { Tensor } from '../tensor.ts';
import type { GatherGeometry } from './conv-kernels.ts';
import { GEMM_CHANNELS, K_STEP, MAX_IMAGE_BYTES, threadsFor, TILE_POSITIONS, winogradChunk } from './conv-winograd.ts';

const transformWeightsKernel = kernel('conv_winograd_k3', 'transform_weights');
const transformInputKernel = kernel('conv_winograd_k3', 'transform_input');
const multiplyKernel = kernel('conv_winograd_k3', 'multiply');
const transformOutputKernel = kernel('conv_winograd_k3', 'transform_output');

function sizesOf(g: GatherGeometry) {
  const m = Math.ceil(g.outChannels / GEMM_CHANNELS) * GEMM_CHANNELS;
  const tilesY = Math.ceil(g.outHeight / 2);
  const tilesX = Math.ceil(g.outWidth / 2);
  return { k: g.inChannels, m, tilesY, tilesX, imageBytes: 4 * TILE_POSITIONS * Math.max(g.inChannels, m) * tilesY * tilesX };
}

/**
 * Whether the k3 Winograd gather computes `g`: a 3x3 kernel at stride 1 and padding 1 (the output the
 * input's size), an even reduction (K_STEP), at least GEMM_CHANNELS output channels, and one image's
 * transformed tiles and products within MAX_IMAGE_BYTES.
 */
export function winogradK3Applies(g: GatherGeometry): boolean {
  if (g.kernelHeight !== 3 || g.kernelWidth !== 3 || g.stride !== 1 || g.padding !== 1) return false;
  const { k, imageBytes } = sizesOf(g);
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

/**
 * out = `fused` activation of the gather of x with `weight` ([Cout, Cin, 3, 3] in the gather's channels
 * when `outputIsFirst`, else [Cin, Cout, 3, 3]) plus bias, for a `g` that winogradK3Applies to.
 */
export function winogradK3Gather(
  x: Tensor, weight: Tensor, outputIsFirst: boolean, bias: Tensor | null, out: Tensor, g: GatherGeometry, fused: Record<string, number>,
): void {
  const engine = x.engine;
  const { k, m, tilesY, tilesX, imageBytes } = sizesOf(g);
  const tilesPerImage = tilesY * tilesX;
  const imagesPerChunk = Math.max(1, Math.min(g.batch, Math.floor(winogradChunk.bytes / imageBytes)));
  const chunkTiles = (images: number) => Math.ceil((images * tilesPerImage) / 4) * 4;
  const shared = {
    inChannels: g.inChannels, outChannels: g.outChannels, height: g.outHeight, width: g.outWidth, transposed: g.transposed ? 1 : 0,
    hasBias: bias ? 1 : 0, outputIsFirst: outputIsFirst ? 1 : 0, k, m, realM: g.outChannels, tilesY, tilesX,
  };
  const weights = engine.empty([TILE_POSITIONS * k * m], 'f32', 'winograd weights');
  engine.run(transformWeightsKernel, {
    buffers: { weight, transformedWeights: weights },
    params: { ...shared, tiles: 4, firstImage: 0, images: 1 },
    overrides: { TRANSFORM_THREADS: threadsFor(m / 4) },
    workgroups: [Math.ceil(m / 4 / threadsFor(m / 4)), k, 1],
    label: `winograd k3 weights k${k} m${m}`,
    bytes: (weight.size + weights.size) * 4,
  });
  const largest = chunkTiles(imagesPerChunk);
  const input = engine.empty([TILE_POSITIONS * k * largest], 'f32', 'winograd input tiles');
  const products = engine.empty([TILE_POSITIONS * m * largest], 'f32', 'winograd products');
  for (let firstImage = 0; firstImage < g.batch; firstImage += imagesPerChunk) {
    const images = Math.min(imagesPerChunk, g.batch - firstImage);
    const tiles = chunkTiles(images);
    const chunk = { ...shared, tiles, firstImage, images };
    const label = `images ${firstImage}-${firstImage + images - 1}, ${tiles} tiles`;
    const tileQuads = tiles / 4;
    const outputQuads = Math.ceil((images * tilesPerImage) / 4);
    engine.run(transformInputKernel, {
      buffers: { x, transformedInput: input },
      params: chunk,
      overrides: { TRANSFORM_THREADS: threadsFor(tileQuads) },
      workgroups: [Math.ceil(tileQuads / threadsFor(tileQuads)), k, 1],
      label: `winograd k3 input ${label}`,
      bytes: (images * g.inChannels * g.inHeight * g.inWidth + TILE_POSITIONS * k * tiles) * 4,
    });
    engine.run(multiplyKernel, {
      buffers: { inputQuads: input, weightQuads: weights, productQuads: products },
      params: chunk,
      overrides: { K_STEP, GEMM_THREADS: threadsFor(tileQuads) },
      workgroups: [Math.ceil(tileQuads / threadsFor(tileQuads)), m / GEMM_CHANNELS, TILE_POSITIONS],
      label: `winograd k3 multiply k${k} m${m} ${label}`,
      flops: 2 * TILE_POSITIONS * k * m * tiles,
      bytes: TILE_POSITIONS * (k * tiles + k * m + m * tiles) * 4,
    });
    engine.run(transformOutputKernel, {
      buffers: { products, bias: bias ?? products, out },
      params: chunk,
      overrides: { ...fused, TRANSFORM_THREADS: threadsFor(outputQuads) },
      workgroups: [Math.ceil(outputQuads / threadsFor(outputQuads)), g.outChannels, 1],
      label: `winograd k3 output ${label}`,
      bytes: (TILE_POSITIONS * g.outChannels * tiles + images * g.outChannels * g.outHeight * g.outWidth) * 4,
    });
  }
  for (const t of [weights, input, products]) t.dispose();
}
