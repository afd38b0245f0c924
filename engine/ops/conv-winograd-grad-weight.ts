// The Winograd F(2x2, 3x3) weight gradient of the k4 s2 p1 layers (conv2d halving the size,
// convTranspose2d doubling it): 16 multiplies where the direct sums do 36 per 2x2 taps of a kernel
// phase and 3x3 gradient positions. shaders/conv_winograd_grad_weight.wgsl has the algebra. Per chunk
// of images: the gradient side's 3x3 tiles and the input side's 4x4 phase tiles transformed, then the
// 16 GEMMs, which add each chunk's sums to the last; then the kernel taps transformed back. Chunks keep
// the transformed tiles under winogradChunk.bytes each, whatever the batch.

import { kernel } from '../kernel.ts';
import { shapeString, type Tensor } from '../tensor.ts';
import { GEMM_CHANNELS, K_STEP, MAX_IMAGE_BYTES, threadsFor, TILE_POSITIONS, winogradChunk } from './conv-winograd.ts';
import { MAX_WORKGROUPS_PER_DIMENSION } from './grid.ts';

const transformPlaneKernel = kernel('conv_winograd_grad_weight', 'transform_plane');
const transformGradientKernel = kernel('conv_winograd_grad_weight', 'transform_gradient');
const multiplyKernel = kernel('conv_winograd_grad_weight', 'multiply');
const transformWeightGradientKernel = kernel('conv_winograd_grad_weight', 'transform_weight_gradient');

/** A weight gradient's sides: gradient [N, A, GH, GW] and input [N, B, H, W], and its kernel. */
export interface WinogradWeightGradShape {
  gradChannels: number;
  gradHeight: number;
  gradWidth: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  kernelHeight: number;
  kernelWidth: number;
  stride: number;
  padding: number;
}

/** The GEMMs' sizes: m (A padded), tiles per image row and column, and the bytes one image's tiles take. */
function sizesOf(s: WinogradWeightGradShape) {
  const m = Math.ceil(s.gradChannels / GEMM_CHANNELS) * GEMM_CHANNELS;
  const tilesY = Math.ceil(s.gradHeight / 3);
  const tilesX = Math.ceil(s.gradWidth / 3);
  const imageBytes = 4 * TILE_POSITIONS * tilesY * tilesX * Math.max(4 * s.inChannels, m);
  const productBytes = 4 * TILE_POSITIONS * m * 4 * s.inChannels;
  return { m, tilesY, tilesX, imageBytes, productBytes };
}

/**
 * Whether the Winograd weight gradient computes `s`: a 4x4 kernel at stride 2 and padding 1 with the
 * input side twice the gradient side's size (conv2d's x and dy, convTranspose2d's dy and x), at least
 * GEMM_CHANNELS gradient channels (below that, most of `multiply`'s work is padding), and one image's
 * transformed tiles and the products within MAX_IMAGE_BYTES.
 */
export function winogradWeightGradApplies(s: WinogradWeightGradShape): boolean {
  if (s.kernelHeight !== 4 || s.kernelWidth !== 4 || s.stride !== 2 || s.padding !== 1) return false;
  const { imageBytes, productBytes } = sizesOf(s);
  return s.inHeight === 2 * s.gradHeight && s.inWidth === 2 * s.gradWidth && s.gradChannels >= GEMM_CHANNELS
    && imageBytes <= MAX_IMAGE_BYTES && productBytes <= MAX_IMAGE_BYTES;
}

/** Input-side channels and gradient size from which the Winograd weight gradient is the default on a CPU adapter. */
const DEFAULT_MIN_IN_CHANNELS = 16;
const DEFAULT_MIN_GRADIENT_SIZE = 8;

/**
 * Whether the Winograd weight gradient should be the default on lavapipe: it applies, the input side
 * has 16 channels or more (with 1, as in the generator's last layer and the discriminator's first, it
 * took 3.7x the time of the direct sums), and the gradient side is at least 8 x 8, so that 3 x 3 tiles
 * waste little. On the bench's k4 s2 layers with 64-512 channels it took 0.51-0.60x the time of the
 * default `rows` sums (bench/RESULTS.md).
 */
export function winogradWeightGradByDefault(s: WinogradWeightGradShape): boolean {
  return winogradWeightGradApplies(s) && s.inChannels >= DEFAULT_MIN_IN_CHANNELS && Math.min(s.gradHeight, s.gradWidth) >= DEFAULT_MIN_GRADIENT_SIZE;
}

/** dW [A, B, 4, 4] of `gradient` [N, A, GH, GW] and `input` [N, B, 2 GH, 2 GW], for a shape winogradWeightGradApplies to. */
export function winogradWeightGradient(gradient: Tensor, input: Tensor): Tensor {
  const engine = gradient.engine;
  const [batch, gradChannels, gradHeight, gradWidth] = gradient.shape as [number, number, number, number];
  const [, inChannels, inHeight, inWidth] = input.shape as [number, number, number, number];
  const { m, tilesY, tilesX, imageBytes } = sizesOf({
    gradChannels, gradHeight, gradWidth, inChannels, inHeight, inWidth, kernelHeight: 4, kernelWidth: 4, stride: 2, padding: 1,
  });
  const tilesPerImage = tilesY * tilesX;
  // Tiles are the transforms' second grid dimension.
  const imagesPerChunk = Math.max(1, Math.min(batch, Math.floor(winogradChunk.bytes / imageBytes), Math.floor((MAX_WORKGROUPS_PER_DIMENSION - 3) / tilesPerImage)));
  const chunkTiles = (images: number) => Math.ceil((images * tilesPerImage) / 4) * 4;
  const largest = chunkTiles(imagesPerChunk);
  if (largest > MAX_WORKGROUPS_PER_DIMENSION || gradChannels > MAX_WORKGROUPS_PER_DIMENSION) {
    throw new Error(`conv weight grad: ${shapeString(gradient.shape)} is too large for the Winograd transforms' dispatches`);
  }
  const shared = { aChannels: gradChannels, bChannels: inChannels, gradHeight, gradWidth, inHeight, inWidth, m, tiles: 4 * inChannels, tilesY, tilesX };
  const planes = engine.empty([TILE_POSITIONS * largest * 4 * inChannels], 'f32', 'winograd weight grad input tiles');
  const gradients = engine.empty([TILE_POSITIONS * largest * m], 'f32', 'winograd weight grad gradient tiles');
  const products = engine.empty([TILE_POSITIONS * m * 4 * inChannels], 'f32', 'winograd weight grad products');
  const inThreads = threadsFor(inChannels);
  const gradientThreads = threadsFor(m / 4);
  for (let firstImage = 0; firstImage < batch; firstImage += imagesPerChunk) {
    const images = Math.min(imagesPerChunk, batch - firstImage);
    const tiles = chunkTiles(images);
    const chunk = { ...shared, k: tiles, firstImage, images };
    const label = `images ${firstImage}-${firstImage + images - 1}, ${tiles} tiles`;
    engine.run(transformPlaneKernel, {
      buffers: { input, transformedPlanes: planes },
      params: chunk,
      overrides: { TRANSFORM_THREADS: inThreads },
      workgroups: [Math.ceil(inChannels / inThreads), tiles, 1],
      label: `winograd weight grad input ${label}`,
      bytes: (images * inChannels * inHeight * inWidth + TILE_POSITIONS * tiles * 4 * inChannels) * 4,
    });
    engine.run(transformGradientKernel, {
      buffers: { gradient, transformedGradients: gradients },
      params: chunk,
      overrides: { TRANSFORM_THREADS: gradientThreads },
      workgroups: [Math.ceil(m / 4 / gradientThreads), tiles, 1],
      label: `winograd weight grad gradient ${label}`,
      bytes: (images * gradChannels * gradHeight * gradWidth + TILE_POSITIONS * tiles * m) * 4,
    });
    engine.run(multiplyKernel, {
      buffers: { inputQuads: planes, weightQuads: gradients, productQuads: products },
      params: chunk,
      overrides: { K_STEP, GEMM_THREADS: inThreads, ACCUMULATE: firstImage > 0 ? 1 : 0 },
      workgroups: [Math.ceil(inChannels / inThreads), m / GEMM_CHANNELS, TILE_POSITIONS],
      label: `winograd weight grad multiply m${m} ${label}`,
      flops: 2 * TILE_POSITIONS * tiles * m * 4 * inChannels,
      bytes: TILE_POSITIONS * (tiles * 4 * inChannels + tiles * m + m * 4 * inChannels * (firstImage > 0 ? 2 : 1)) * 4,
    });
  }
  const result = engine.empty([gradChannels, inChannels, 4, 4], 'f32', 'conv weight grad');
  engine.run(transformWeightGradientKernel, {
    buffers: { products, weightGradient: result },
    params: { ...shared, k: largest, firstImage: 0, images: 0 },
    overrides: { TRANSFORM_THREADS: inThreads },
    workgroups: [Math.ceil(inChannels / inThreads), gradChannels, 1],
    label: `winograd weight grad taps ${shapeString(result.shape)}`,
    bytes: (products.size + result.size) * 4,
  });
  for (const t of [planes, gradients, products]) t.dispose();
  return result;
}
