// The Winograd F(3x3, 2x2) gather for k4 s2 p1 layers (conv2d halving the size, convTranspose2d
// doubling it, and so their grad-inputs): 16 multiplies where the direct gather does 36 per 3x3
// outputs and (k, m) pair. shaders/conv_winograd.wgsl has the algebra. Four passes: the weights
// transformed once (from the op's weight tensor, not the direct gathers' packed copy), then per chunk
// of images the input tiles transformed, the 16 GEMMs, and the outputs transformed back with bias and
// activation. Chunks keep the transformed tiles and products under winogradChunk.bytes each, whatever
// the batch.

import { kernel, type Kernel } from '../kernel.ts';
import type { Tensor } from '../tensor.ts';
import type { GatherGeometry } from './conv-kernels.ts';
import { workgroupSizeFor } from './grid.ts';


/** Positions of a 4x4 tile: one GEMM each. */
export const TILE_POSITIONS = 16;
/** Positions of a 6x6 tile (F(4x4, 3x3) and F(3x3, 4x4)): one GEMM each. */
export const TILE6_POSITIONS = 36;
/** Output channels per thread of `multiply` (its accumulators); m is padded to a multiple. */
export const GEMM_CHANNELS = 32;
/** Inputs summed per accumulator update in `multiply` (2 was best on lavapipe: bench/RESULTS.md). */
export const K_STEP = 2;
/** Threads per workgroup of the transforms and of `multiply` at most (fewer for fewer quads of work). */
const WORKGROUP = 64;
/**
 * Threads for `quads` quads of work in a row: at most WORKGROUP, a multiple of 8 (the lavapipe subgroup),
 * few idle (workgroupSizeFor), since `multiply`'s idle lanes run the whole reduction too (for their
 * subgroup's shuffles): 144 quads (576 tiles: the paper CGAN's 8 x 8 <-> 16 x 16 layers at batch 64)
 * take 3 x 48 threads, where 3 x 64 idled a quarter of the lanes.
 */
export const threadsFor = (quads: number): number => workgroupSizeFor(quads, WORKGROUP, 8);
/** The most bytes of transformed input, or of products, one chunk of images holds (tests lower it). */
export const winogradChunk = { bytes: 32 * 2 ** 20 };
/**
 * A batch in chunks of at most `most` images: as few chunks as that allows, their sizes within one of
 * each other. Not chunks of `most` and a remainder: a batch of 64 in chunks of 56 left a last chunk of
 * 8 images, whose GEMM ran at half the first's GFLOP/s (a part-empty workgroup per channel block and
 * tile position).
 */
export function imageChunks(batch: number, most: number): { firstImage: number; images: number }[] {
  const count = Math.ceil(batch / most);
  return Array.from({ length: count }, (_, i) => {
    const firstImage = Math.floor((i * batch) / count);
    return { firstImage, images: Math.floor(((i + 1) * batch) / count) - firstImage };
  });
}

/** A chunk of a Winograd gather: whole images, or (one image at a time) a band of an image's tile rows. */
interface GatherChunk { firstImage: number; images: number; firstTileRow: number; tileRows: number }

/**
 * A gather's chunks: whole images (imageChunks) where one image's transformed tiles, `rowBytes` a tile
 * row, fit winogradChunk.bytes; else each image in bands of tile rows that do (the SRGAN's 64 -> 256
 * conv at 256 x 256, 151 MB of F(4x4, 3x3) tiles an image, in 5 bands).
 */
function gatherChunks(batch: number, tilesY: number, rowBytes: number): GatherChunk[] {
  if (rowBytes * tilesY <= winogradChunk.bytes) {
    return imageChunks(batch, Math.floor(winogradChunk.bytes / (rowBytes * tilesY))).map((c) => ({ ...c, firstTileRow: 0, tileRows: tilesY }));
  }
  // The same even split over an image's tile rows.
  const bands = imageChunks(tilesY, Math.max(1, Math.floor(winogradChunk.bytes / rowBytes)));
  return Array.from({ length: batch }, (_, n) => bands.map((b) => ({ firstImage: n, images: 1, firstTileRow: b.firstImage, tileRows: b.images }))).flat();
}

/** The most bytes of transformed input, or of products, of one image (under every adapter's binding limit). */
export const MAX_IMAGE_BYTES = 64 * 2 ** 20;

/** The GEMMs' sizes: reduction k, channels m (padded) of which realM are real, tiles per image. */
export interface WinogradSizes {
  k: number;
  m: number;
  realM: number;
  tilesY: number;
  tilesX: number;
}

function sizesOf(g: GatherGeometry): WinogradSizes {
  // conv2d: 4 input phases per channel into Cout, 3x3 tiles of the output. convTranspose2d: the
  // input's channels into 4 output phases of Cout, 3x3 tiles of the H + 1 (W + 1) plane positions.
  const realM = g.transposed ? 4 * g.outChannels : g.outChannels;
  return {
    k: g.transposed ? g.inChannels : 4 * g.inChannels,
    m: Math.ceil(realM / GEMM_CHANNELS) * GEMM_CHANNELS,
    realM,
    tilesY: Math.ceil((g.transposed ? g.inHeight + 1 : g.outHeight) / 3),
    tilesX: Math.ceil((g.transposed ? g.inWidth + 1 : g.outWidth) / 3),
  };
}

/**
 * Whether the Winograd gather computes `g`: a 4x4 kernel at stride 2 and padding 1 halving
 * (conv2d) or doubling (convTranspose2d) an even size, an even reduction (K_STEP), and at least
 * GEMM_CHANNELS output channels in the GEMM (below that, most of `multiply`'s work is padding); and
 * one image's transformed tiles and products within MAX_IMAGE_BYTES (a chunk holds at least one image).
 */
export function winogradApplies(g: GatherGeometry): boolean {
  if (g.kernelHeight !== 4 || g.kernelWidth !== 4 || g.stride !== 2 || g.padding !== 1) return false;
  const sizes = g.transposed
    ? g.outHeight === 2 * g.inHeight && g.outWidth === 2 * g.inWidth
    : g.inHeight % 2 === 0 && g.inWidth % 2 === 0 && g.outHeight === g.inHeight / 2 && g.outWidth === g.inWidth / 2;
  const { k, m, realM, tilesY, tilesX } = sizesOf(g);
  const imageBytes = 4 * TILE_POSITIONS * Math.max(k, m) * tilesY * tilesX;
  return sizes && k % K_STEP === 0 && realM >= GEMM_CHANNELS && imageBytes <= MAX_IMAGE_BYTES;
}

/** Reduction and output size from which the Winograd gather is the default on a CPU adapter. */
const DEFAULT_MIN_REDUCTION = 64;
const DEFAULT_MIN_PHASE_SIZE = 8;

/**
 * Whether the Winograd gather should be `g`'s default on lavapipe: it applies, the reduction is long
 * enough for the GEMMs to outweigh the transforms, and each output phase is at least 8 x 8, so that
 * 3 x 3 tiles waste little (a 4 x 4 phase computes 6 x 6). Timed shape by shape it wins on most
 * convTranspose2d gathers and on some conv2d ones (0.47-1.67x the best direct gather's CPU time); over
 * whole paper CGAN steps this rule beat both the direct gathers (0.95x) and Winograd for the
 * convTranspose2d gathers alone (bench/RESULTS.md). `--autotune` picks shape by shape.
 */
export function winogradByDefault(g: GatherGeometry): boolean {
  const phase = g.transposed ? Math.min(g.inHeight, g.inWidth) : Math.min(g.outHeight, g.outWidth);
  return winogradApplies(g) && sizesOf(g).k >= DEFAULT_MIN_REDUCTION && phase >= DEFAULT_MIN_PHASE_SIZE;
}

/**
 * A Winograd gather: its shader's four passes (whose Params all take the fields `runWinogradGather`
 * writes), its GEMM sizes for a geometry, and the name its dispatches' labels start with.
 */
export interface WinogradGatherForm {
  name: string;
  /** Positions of a transformed tile (16 for 4x4 tiles, 36 for 6x6): one GEMM each. */
  positions: number;
  sizes: (g: GatherGeometry) => WinogradSizes;
  transformWeights: Kernel;
  transformInput: Kernel;
  multiply: Kernel;
  transformOutput: Kernel;
  /** The output transform storing each tile row as one vec4, for outputs whose rows are a multiple of 4 long (4-wide tiles). */
  transformOutputVec4?: Kernel;
  /** The input transform reading a thread's 4 tiles' rows as vec4s, for inputs whose rows are a multiple of 16 long (4-wide tiles). */
  transformInputRows?: Kernel;
}

/** The four passes of a Winograd gather shader. */
export function winogradGatherPasses(shader: string): Pick<WinogradGatherForm, 'transformWeights' | 'transformInput' | 'multiply' | 'transformOutput'> {
  return {
    transformWeights: kernel(shader, 'transform_weights'),
    transformInput: kernel(shader, 'transform_input'),
    multiply: kernel(shader, 'multiply'),
    transformOutput: kernel(shader, 'transform_output'),
  };
}

const K4_FORM: WinogradGatherForm = { name: 'winograd', positions: TILE_POSITIONS, sizes: sizesOf, ...winogradGatherPasses('conv_winograd') };

/**
 * out = `fused` activation of the gather of x with `weight` (conv2d's [Cout, Cin, 4, 4] layout in the
 * gather's channels when `outputIsFirst`, else [Cin, Cout, 4, 4]) plus bias, for a `g` that
 * winogradApplies to.
 */
export function winogradGather(
  x: Tensor, weight: Tensor, outputIsFirst: boolean, bias: Tensor | null, out: Tensor, g: GatherGeometry, fused: Record<string, number>,
): void {
  runWinogradGather(K4_FORM, x, weight, outputIsFirst, bias, out, g, fused);
}

/**
 * The passes of a Winograd gather: the weights transformed once, then per chunk of images the input
 * tiles transformed, the 16 GEMMs, and the outputs transformed back with bias and activation.
 */
export function runWinogradGather(
  form: WinogradGatherForm, x: Tensor, weight: Tensor, outputIsFirst: boolean, bias: Tensor | null, out: Tensor, g: GatherGeometry,
  fused: Record<string, number>,
): void {
  const engine = x.engine;
  const { k, m, realM, tilesY, tilesX } = form.sizes(g);
  const positions = form.positions;
  const chunks = gatherChunks(g.batch, tilesY, 4 * positions * Math.max(k, m) * tilesX);
  const chunkTiles = (c: GatherChunk) => Math.ceil((c.images * c.tileRows * tilesX) / 4) * 4;
  const shared = {
    inChannels: g.inChannels, inHeight: g.inHeight, inWidth: g.inWidth, outChannels: g.outChannels, outHeight: g.outHeight,
    outWidth: g.outWidth, transposed: g.transposed ? 1 : 0, hasBias: bias ? 1 : 0, outputIsFirst: outputIsFirst ? 1 : 0,
    k, m, realM, tilesX,
  };
  const weights = engine.empty([positions * k * m], 'f32', 'winograd weights');
  engine.run(form.transformWeights, {
    buffers: { weight, transformedWeights: weights },
    params: { ...shared, tilesY, tiles: 4, firstImage: 0, images: 1, firstTileRow: 0 },
    overrides: { TRANSFORM_THREADS: threadsFor(m / 4) },
    workgroups: [Math.ceil(m / 4 / threadsFor(m / 4)), k, 1],
    label: `${form.name} weights k${k} m${m}`,
    bytes: (weight.size + weights.size) * 4,
  });
  const largest = Math.max(...chunks.map(chunkTiles));
  const input = engine.empty([positions * k * largest], 'f32', 'winograd input tiles');
  const products = engine.empty([positions * m * largest], 'f32', 'winograd products');
  for (const c of chunks) {
    const { firstImage, images, firstTileRow, tileRows } = c;
    const tiles = chunkTiles(c);
    const chunk = { ...shared, tilesY: tileRows, tiles, firstImage, images, firstTileRow };
    const rows = tileRows < tilesY ? ` tile rows ${firstTileRow}-${firstTileRow + tileRows - 1}` : '';
    const label = `images ${firstImage}-${firstImage + images - 1}${rows}, ${tiles} tiles`;
    const tileQuads = tiles / 4;
    const outputQuads = Math.ceil((images * tileRows * tilesX) / 4);
    // 4-wide tiles over the input's rows: 16 columns hold a thread's 4 tiles.
    const rowsInput = form.transformInputRows && g.inWidth % 16 === 0;
    engine.run(rowsInput ? form.transformInputRows! : form.transformInput, {
      buffers: { x, ...(rowsInput ? { x4: x } : {}), transformedInput: input },
      params: chunk,
      overrides: { TRANSFORM_THREADS: threadsFor(tileQuads) },
      workgroups: [Math.ceil(tileQuads / threadsFor(tileQuads)), k, 1],
      label: `${form.name} input ${label}`,
      bytes: ((images * g.inChannels * g.inHeight * g.inWidth * tileRows) / tilesY + positions * k * tiles) * 4,
    });
    engine.run(form.multiply, {
      buffers: { inputQuads: input, weightQuads: weights, productQuads: products },
      params: chunk,
      overrides: { K_STEP, GEMM_THREADS: threadsFor(tileQuads) },
      workgroups: [Math.ceil(tileQuads / threadsFor(tileQuads)), m / GEMM_CHANNELS, positions],
      label: `${form.name} multiply k${k} m${m} ${label}`,
      flops: 2 * positions * k * m * tiles,
      bytes: positions * (k * tiles + k * m + m * tiles) * 4,
    });
    const vec4Output = form.transformOutputVec4 && g.outWidth % 4 === 0;
    engine.run(vec4Output ? form.transformOutputVec4! : form.transformOutput, {
      buffers: { products, bias: bias ?? products, [vec4Output ? 'out4' : 'out']: out },
      params: chunk,
      overrides: { ...fused, TRANSFORM_THREADS: threadsFor(outputQuads) },
      workgroups: [Math.ceil(outputQuads / threadsFor(outputQuads)), g.outChannels, 1],
      label: `${form.name} output ${label}`,
      bytes: (positions * realM * tiles + (images * g.outChannels * g.outHeight * g.outWidth * tileRows) / tilesY) * 4,
    });
  }
  for (const t of [weights, input, products]) t.dispose();
}
