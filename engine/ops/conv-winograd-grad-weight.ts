// Winograd weight gradients: F(2x2, 3x3) for the k4 s2 p1 layers (conv2d halving the size,
// convTranspose2d doubling it; shaders/conv_winograd_grad_weight.wgsl), 16 multiplies where the direct
// sums do 36 per 2x2 taps of a kernel phase and 3x3 gradient positions; F(3x3, 2x2) for the k3 s1 p1
// layers (shaders/conv_winograd_k3_grad_weight.wgsl), 16 per 36 for 3x3 taps and 2x2 gradient positions,
// or F(3x3, 4x4) where the gradient side is 8 x 8 or more (shaders/conv_winograd_k3_f4_grad_weight.wgsl),
// 36 per 144. Per chunk of images: the gradient side's tiles and the input side's tiles transformed, then
// the GEMMs (one per tile position), which add each chunk's sums to the last; then the kernel taps
// transformed back. Chunks keep the transformed tiles under winogradChunk.bytes each, whatever the batch.

import { kernel } from '../kernel.ts';
import { shapeString, type Tensor } from '../tensor.ts';
import { GEMM_CHANNELS, imageChunks, K_STEP, MAX_IMAGE_BYTES, threadsFor, TILE6_POSITIONS, TILE_POSITIONS, winogradChunk } from './conv-winograd.ts';
import { MAX_WORKGROUPS_PER_DIMENSION } from './grid.ts';
import { AdapterLimitError } from '../errors.ts';

/** A form: its kernel size, gradient positions per tile side, transformed tile positions, and its shader's passes. */
function defineForm(shader: string, kernelSize: number, tileStep: number, positions: number) {
  return {
    kernelSize,
    tileStep,
    positions,
    transformPlane: kernel(shader, 'transform_plane'),
    transformGradient: kernel(shader, 'transform_gradient'),
    multiply: kernel(shader, 'multiply'),
    transformWeightGradient: kernel(shader, 'transform_weight_gradient'),
  };
}
type Form = ReturnType<typeof defineForm>;
const K4_FORM = defineForm('conv_winograd_grad_weight', 4, 3, TILE_POSITIONS);
const K3_FORM = defineForm('conv_winograd_k3_grad_weight', 3, 2, TILE_POSITIONS);
/** F(3x3, 4x4): 6x6 tiles of the input side per 4x4 of the gradient side, 36 positions. */
const K3_F4_FORM = defineForm('conv_winograd_k3_f4_grad_weight', 3, 4, TILE6_POSITIONS);
/** Gradient size from which the k3 form is F(3x3, 4x4) (4x4 tiles waste little). */
const F4_MIN_GRADIENT_SIZE = 8;

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

/**
 * The form that computes `s`, if any: a 4x4 kernel at stride 2 and padding 1 with the input side twice
 * the gradient side's size (conv2d's x and dy, convTranspose2d's dy and x), or a 3x3 kernel at stride 1
 * and padding 1 with both sides the same size and the input side's channels a multiple of 4.
 */
function formOf(s: WinogradWeightGradShape): Form | null {
  if (s.kernelHeight !== s.kernelWidth || s.padding !== 1) return null;
  if (s.kernelHeight === 4 && s.stride === 2 && s.inHeight === 2 * s.gradHeight && s.inWidth === 2 * s.gradWidth) return K4_FORM;
  if (s.kernelHeight === 3 && s.stride === 1 && s.inHeight === s.gradHeight && s.inWidth === s.gradWidth && s.inChannels % 4 === 0) {
    return Math.min(s.gradHeight, s.gradWidth) >= F4_MIN_GRADIENT_SIZE ? K3_F4_FORM : K3_FORM;
  }
  return null;
}

/**
 * The GEMMs' sizes: m (A padded), columns (4 B: the k4 form's (b, phase) pairs; B for k3), tiles per
 * image row and column, and the bytes one image's tiles take.
 */
function sizesOf(s: WinogradWeightGradShape, form: Form) {
  const m = Math.ceil(s.gradChannels / GEMM_CHANNELS) * GEMM_CHANNELS;
  const columns = form.kernelSize === 4 ? 4 * s.inChannels : s.inChannels;
  const tilesY = Math.ceil(s.gradHeight / form.tileStep);
  const tilesX = Math.ceil(s.gradWidth / form.tileStep);
  const imageBytes = 4 * form.positions * tilesY * tilesX * Math.max(columns, m);
  const productBytes = 4 * form.positions * m * columns;
  return { m, columns, tilesY, tilesX, imageBytes, productBytes };
}

/**
 * Whether a Winograd weight gradient computes `s`: one of the two forms (formOf), at least GEMM_CHANNELS
 * gradient channels (below that, most of `multiply`'s work is padding), and one image's transformed
 * tiles and the products within MAX_IMAGE_BYTES.
 */
export function winogradWeightGradApplies(s: WinogradWeightGradShape): boolean {
  const form = formOf(s);
  if (!form) return false;
  const { imageBytes, productBytes } = sizesOf(s, form);
  return s.gradChannels >= GEMM_CHANNELS && imageBytes <= MAX_IMAGE_BYTES && productBytes <= MAX_IMAGE_BYTES;
}

/** Input-side channels and gradient size from which the Winograd weight gradient is the default on a CPU adapter. */
const DEFAULT_MIN_IN_CHANNELS = 16;
const DEFAULT_MIN_GRADIENT_SIZE = 8;

/**
 * Whether a Winograd weight gradient should be the default on lavapipe: it applies, the input side has
 * 16 channels or more (with 1, as in the CGAN generator's last layer and the discriminator's first, the
 * k4 form took 3.7x the time of the direct sums), and the gradient side is at least 8 x 8, so that the
 * tiles waste little. On the bench's k4 s2 layers with 64-512 channels it took 0.51-0.60x the time of
 * the default `rows` sums, on the k3 s1 ones 0.49-0.91x (bench/RESULTS.md).
 */
export function winogradWeightGradByDefault(s: WinogradWeightGradShape): boolean {
  return winogradWeightGradApplies(s) && s.inChannels >= DEFAULT_MIN_IN_CHANNELS && Math.min(s.gradHeight, s.gradWidth) >= DEFAULT_MIN_GRADIENT_SIZE;
}

/**
 * dW [A, B, k, k] of `gradient` [N, A, GH, GW] and `input` [N, B, H, W] for a k x k kernel (4: stride 2,
 * H = 2 GH; 3: stride 1, H = GH; padding 1), a shape winogradWeightGradApplies to.
 */
export function winogradWeightGradient(gradient: Tensor, input: Tensor, kernelSize: number): Tensor {
  const engine = gradient.engine;
  const [batch, gradChannels, gradHeight, gradWidth] = gradient.shape as [number, number, number, number];
  const [, inChannels, inHeight, inWidth] = input.shape as [number, number, number, number];
  const shape = {
    gradChannels, gradHeight, gradWidth, inChannels, inHeight, inWidth, kernelHeight: kernelSize, kernelWidth: kernelSize,
    stride: kernelSize === 4 ? 2 : 1, padding: 1,
  };
  const form = formOf(shape);
  if (!form) throw new Error(`conv weight grad: no Winograd form for ${shapeString(gradient.shape)} x ${shapeString(input.shape)}, kernel ${kernelSize}`);
  const { m, columns, tilesY, tilesX, imageBytes } = sizesOf(shape, form);
  const columnQuads = columns / 4;
  const tilesPerImage = tilesY * tilesX;
  // Tiles are the transforms' second grid dimension.
  const chunks = imageChunks(batch, Math.max(1, Math.min(Math.floor(winogradChunk.bytes / imageBytes), Math.floor((MAX_WORKGROUPS_PER_DIMENSION - 3) / tilesPerImage))));
  const chunkTiles = (images: number) => Math.ceil((images * tilesPerImage) / 4) * 4;
  const largest = chunkTiles(Math.max(...chunks.map((c) => c.images)));
  if (largest > MAX_WORKGROUPS_PER_DIMENSION || gradChannels > MAX_WORKGROUPS_PER_DIMENSION) {
    throw new AdapterLimitError(`conv weight grad: ${shapeString(gradient.shape)} is too large for the Winograd transforms' dispatches (65,535 workgroups a dimension)`);
  }
  const shared = { aChannels: gradChannels, bChannels: inChannels, gradHeight, gradWidth, inHeight, inWidth, m, tiles: columns, tilesY, tilesX, firstTileRow: 0 };
  const planes = engine.empty([form.positions * largest * columns], 'f32', 'winograd weight grad input tiles');
  const gradients = engine.empty([form.positions * largest * m], 'f32', 'winograd weight grad gradient tiles');
  const products = engine.empty([form.positions * m * columns], 'f32', 'winograd weight grad products');
  // One thread per quad of columns in the input transform, the GEMM and the output transform.
  const columnThreads = threadsFor(columnQuads);
  const gradientThreads = threadsFor(m / 4);
  for (const { firstImage, images } of chunks) {
    const tiles = chunkTiles(images);
    const chunk = { ...shared, k: tiles, firstImage, images };
    const label = `images ${firstImage}-${firstImage + images - 1}, ${tiles} tiles`;
    engine.run(form.transformPlane, {
      buffers: { x: input, transformedPlanes: planes },
      params: chunk,
      overrides: { TRANSFORM_THREADS: columnThreads },
      workgroups: [Math.ceil(columnQuads / columnThreads), tiles, 1],
      label: `winograd weight grad input ${label}`,
      bytes: (images * inChannels * inHeight * inWidth + form.positions * tiles * columns) * 4,
    });
    engine.run(form.transformGradient, {
      buffers: { gradient, transformedGradients: gradients },
      params: chunk,
      overrides: { TRANSFORM_THREADS: gradientThreads },
      workgroups: [Math.ceil(m / 4 / gradientThreads), tiles, 1],
      label: `winograd weight grad gradient ${label}`,
      bytes: (images * gradChannels * gradHeight * gradWidth + form.positions * tiles * m) * 4,
    });
    engine.run(form.multiply, {
      buffers: { inputQuads: planes, weightQuads: gradients, productQuads: products },
      params: chunk,
      overrides: { K_STEP, GEMM_THREADS: columnThreads, ACCUMULATE: firstImage > 0 ? 1 : 0 },
      workgroups: [Math.ceil(columnQuads / columnThreads), m / GEMM_CHANNELS, form.positions],
      label: `winograd weight grad multiply m${m} ${label}`,
      flops: 2 * form.positions * tiles * m * columns,
      bytes: form.positions * (tiles * columns + tiles * m + m * columns * (firstImage > 0 ? 2 : 1)) * 4,
    });
  }
  const result = engine.empty([gradChannels, inChannels, kernelSize, kernelSize], 'f32', 'conv weight grad');
  engine.run(form.transformWeightGradient, {
    buffers: { products, weightGradient: result },
    params: { ...shared, k: largest, firstImage: 0, images: 0 },
    overrides: { TRANSFORM_THREADS: columnThreads },
    workgroups: [Math.ceil(columnQuads / columnThreads), gradChannels, 1],
    label: `winograd weight grad taps ${shapeString(result.shape)}`,
    bytes: (products.size + result.size) * 4,
  });
  for (const t of [planes, gradients, products]) t.dispose();
  return result;
}
