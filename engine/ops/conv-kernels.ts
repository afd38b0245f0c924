// The three GPU building blocks behind conv2d and convTranspose2d (engine/ops/conv.ts): a weight
// repack, the implicit-GEMM gather that computes either op's forward (and so either op's
// grad-input; for k4 s2 p1 layers also as Winograd F(3x3, 2x2), engine/ops/conv-winograd.ts, and for
// k3 s1 p1 ones as F(2x2, 3x3), engine/ops/conv-winograd-k3.ts), and the
// chunked weight-gradient GEMM (for k4 s2 p1 and k3 s1 p1 layers also as Winograd,
// engine/ops/conv-winograd-grad-weight.ts), each of the last two in several variants
// (engine/ops/conv-autotune.ts chooses). WGSL: shaders/conv_*.wgsl.

import { kernel } from '../kernel.ts';
import type { Engine } from '../runtime.ts';
import type { AdapterKind } from '../device.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { linearGrid, MAX_WORKGROUPS_PER_DIMENSION, workgroupSizeFor } from './grid.ts';
import { winogradApplies, winogradByDefault, winogradGather } from './conv-winograd.ts';
import { winogradK3Applies, winogradK3F4Applies, winogradK3F4ByDefault, winogradK3F4Gather, winogradK3Gather } from './conv-winograd-k3.ts';
import { winogradWeightGradApplies, winogradWeightGradByDefault, winogradWeightGradient, type WinogradWeightGradShape } from './conv-winograd-grad-weight.ts';
import { AdapterLimitError } from '../errors.ts';

const packKernel = kernel('conv_pack_weights');
const gatherKernel = kernel('conv_gather');
const stripGatherKernel = kernel('conv_gather', 'main_strip');
const subgroupGatherKernel = kernel('conv_gather_subgroup');
const pixelsGatherKernel = kernel('conv_gather_subgroup', 'main_pixels');
const phasesKernel = kernel('conv_gather_subgroup', 'main_phases');
const weightGradientKernel = kernel('conv_grad_weight');
const reduceChunksKernel = kernel('conv_grad_weight', 'reduce_chunks');
const subgroupWeightGradientKernel = kernel('conv_grad_weight_subgroup');
const rowsWeightGradientKernel = kernel('conv_grad_weight_subgroup', 'main_rows');
const tapsWeightGradientKernel = kernel('conv_grad_weight_subgroup', 'main_taps');
const tiledWeightGradientKernel = kernel('conv_grad_weight_tiled');
const channelQuadsKernel = kernel('channel_quads');
const channelQuadsVec4Kernel = kernel('channel_quads', 'main_vec4');
const tiledGatherKernel = kernel('conv_gather_tiled');
const reduceSplitsKernel = kernel('conv_gather_tiled', 'reduce_splits');

const GATHER_WORKGROUP = 64;

/**
 * A gather's kernel and output channels per thread: `subgroup` (conv_gather_subgroup.wgsl, weights
 * shared through the subgroup), `strip` (conv_gather.wgsl main_strip) or `gather` (main); or, for
 * layers with at most 4 output channels, `phases8` (conv_gather_subgroup.wgsl main_phases: convTranspose2d k4 s2 p1,
 * all four output phases of 8 input columns per thread) or `pixels` (conv_gather_subgroup.wgsl
 * main_pixels: one channel and 8 or 16 pixels per thread); or, on GPUs, `tileAxB` (conv_gather_tiled.wgsl:
 * a GEMM tile of A output channels x B pixels through workgroup memory). A weight gradient's: `taps`
 * (conv_grad_weight_subgroup.wgsl main_taps: 4 taps of a row per thread, for 1-2 input channels), `rows`
 * (conv_grad_weight_subgroup.wgsl main_rows: several taps of a kernel row per thread), `subgroup`
 * (conv_grad_weight_subgroup.wgsl: one tap per thread) or `plain` (conv_grad_weight.wgsl); there the
 * number counts gradient channels per workgroup; or `winograd` (conv_winograd_grad_weight.wgsl for k4 s2 p1,
 * conv_winograd_k3_grad_weight.wgsl for k3 s1 p1). Or, on GPUs, `tileAxB` (conv_grad_weight_tiled.wgsl: a
 * GEMM tile of A gradient channels x B (input channel, tap) columns through workgroup memory).
 * engine/ops/conv-autotune.ts picks one per shape; every variant allocates the same buffers, except the
 * split gather tiles' partial outputs (gatherSplits: at most MAX_PARTIAL_BYTES) and the Winograd variants'
 * transformed tiles and products (chunked: winogradChunk), each freed within the call.
 */
export type GatherVariant = typeof GATHER_VARIANTS[number];
export type WeightGradVariant = typeof WEIGHT_GRAD_VARIANTS[number];
/**
 * A workgroup-memory GEMM tile (conv_gather_tiled.wgsl, conv_grad_weight_tiled.wgsl): rows (output
 * or gradient channels) x columns (pixels, or input channels x taps) of the output per 256 threads.
 */
const TILE_VARIANTS = ['tile64x64', 'tile64x128', 'tile128x64', 'tile128x128'] as const;
export type TileVariant = typeof TILE_VARIANTS[number];
/**
 * Gathers also have a 32 x 32 tile whose reduction is split over 4 groups of 64 threads
 * (conv_gather_tiled.wgsl K_SPLIT), and tiles whose reduction is split over workgroups (`s`:
 * SPLITS, gatherSplits) where the plain ones are too few to fill a GPU.
 */
const SPLIT_TILE_VARIANTS = ['tile64x64s', 'tile128x128s'] as const;
export type GatherTileVariant = TileVariant | 'tile32x32k4' | typeof SPLIT_TILE_VARIANTS[number];
/** Every variant by name (what convTuning may force; flags and the randomised sweep check against these). */
export const GATHER_VARIANTS = ['subgroup32', 'subgroup16', 'subgroup8', 'phases8', 'pixels8', 'pixels16', 'strip16', 'strip8', 'strip4',
  'gather16', 'gather8', 'gather4', 'winograd', 'winograd4', ...TILE_VARIANTS, 'tile32x32k4', ...SPLIT_TILE_VARIANTS] as const;
export const WEIGHT_GRAD_VARIANTS = ['taps16', 'rows32', 'rows16', 'rows8', 'subgroup32', 'subgroup16', 'subgroup8', 'plain16', 'plain8', 'plain4',
  'winograd', ...TILE_VARIANTS] as const;

/**
 * A tile variant's sizes: rows (output channels) and columns, each 4 or 8 per thread, the groups
 * of threads that split the reduction (`k4`: 4 groups of 8 x 8 threads; otherwise one of 16 x 16),
 * and whether workgroups split it too (`s`).
 */
export function tileOf(variant: GatherTileVariant): { rows: number; columns: number; kSplit: number; split: boolean } {
  const [, rows, columns, kSplit, split] = /^tile(\d+)x(\d+)(?:k(\d+))?(s?)$/.exec(variant)!;
  return { rows: Number(rows), columns: Number(columns), kSplit: Number(kSplit ?? 1), split: split === 's' };
}

const isTile = (variant: string): variant is GatherTileVariant => variant.startsWith('tile');

/** At least half of a tile's rows (or columns) do work where there are 32: `size` rows get tiles of at most this. */
const largestUsefulTile = (size: number): number => 2 ** Math.ceil(Math.log2(Math.max(size, 64)));

/**
 * Variants forced for every shape where they apply (tests, `bench/kernels.ts --compare`); null: the
 * tuned or default choice. `vec4Strip: 'off'` turns off the subgroup gather's aligned strip loads (see
 * `vec4StripHalo`), which are on wherever they apply. `tileBuffers` pins the tiles' copies of
 * workgroup memory (see tileBuffers).
 */
export const convTuning: { gather: GatherVariant | null; weightGrad: WeightGradVariant | null; vec4Strip: 'off' | null; tileBuffers: 1 | 2 | null } = {
  gather: null, weightGrad: null, vec4Strip: null, tileBuffers: null,
};

/**
 * BUFFERS of conv_gather_tiled.wgsl: 2 (the next step's values stored into a second copy of the tiles
 * while this step's are multiplied: one barrier a step instead of two) where the device allows both
 * copies' workgroup memory, else 1; or convTuning.tileBuffers. On the H100, one copy took 1.00-1.03x
 * the kernel time of two on the bench layers' gathers. (The same change to conv_grad_weight_tiled.wgsl
 * made its weight gradients 1.01-1.11x slower there: it keeps one copy. bench/RESULTS.md.)
 */
export function tileBuffers(engine: Engine, tile: { rows: number; columns: number }): number {
  // K_STEP rows of each tile, each row 4 floats longer than the tile.
  const bytes = tileStep(tile) * (tile.rows + 4 + tile.columns + 4) * 4;
  const fits = 2 * bytes <= engine.maxWorkgroupStorageBytes;
  // (--compare sets the field from text.)
  const pinned = Number(convTuning.tileBuffers ?? 0);
  return pinned === 1 || !fits ? 1 : 2;
}

/** K_STEP of the tiled shaders: positions of the reduction per step, tiles of 1024 floats. */
const tileStep = (tile: { rows: number; columns: number }): number => 1024 / Math.max(tile.rows, tile.columns);

/** conv_gather.wgsl's `strip` array length, and main_pixels'. */
const MAX_STRIP_WIDTH = 16;
const MAX_PIXEL_STRIP = 32;

/** Channels per thread worth having for `channels` outputs: no more than the layer can fill. */
function usefulChannels(channels: number): number {
  return channels <= 4 ? 4 : channels <= 8 ? 8 : 16;
}

/** Packed weight rows are padded to this many output channels, whatever the variant. */
function paddedChannels(channels: number): number {
  const block = usefulChannels(channels);
  return Math.ceil(channels / block) * block;
}

const channelsOf = (variant: string): number => Number(variant.replace(/^[a-z]+/, ''));

/**
 * The input columns one thread reads per row and channel, for `pixels` outputs per thread: of the
 * widest phase, or of column phase `columnPhase` of a convTranspose2d.
 */
function stripGeometry(g: GatherGeometry, pixels = 4, columnPhase?: number): { width: number; pixelStep: number; columnTaps: number } {
  const pixelStep = g.transposed ? 1 : g.stride;
  const columnTaps = !g.transposed ? g.kernelWidth
    : columnPhase === undefined ? Math.ceil(g.kernelWidth / g.stride) : phaseTaps(g, columnPhase, g.kernelWidth);
  return { width: (pixels - 1) * pixelStep + columnTaps, pixelStep, columnTaps };
}

/**
 * Whether main_pixels' strips of `pixels` outputs can be loaded as aligned vec4s (PIXEL_VEC4): stride 1
 * (one phase, consecutive columns), input rows a multiple of 4 long, every strip starting at a multiple
 * of 4 (thread strips start `pixels` apart, a multiple of 4, from the first one's start) and a multiple
 * of 4 wide.
 */
export function pixelStripAligned(g: GatherGeometry, pixels: number): boolean {
  // The first strip's start: conv2d's origin is -padding; convTranspose2d's runs its taps backwards from padding.
  const firstStart = g.transposed ? g.padding - (g.kernelWidth - 1) : -g.padding;
  return g.stride === 1 && g.inWidth % 4 === 0 && pixels % 4 === 0 && firstStart % 4 === 0 && stripGeometry(g, pixels).width % 4 === 0;
}

/** Output phases per axis: convTranspose2d's stride (each phase its own taps), conv2d's one. */
const phaseStride = (g: GatherGeometry): number => (g.transposed ? g.stride : 1);

/** Taps of a kernel line of `kernelSize` that hit a convTranspose2d's outputs of `phase` (conv_gather_subgroup.wgsl tapCount). */
function phaseTaps(g: GatherGeometry, phase: number, kernelSize: number): number {
  const first = (phase + g.padding) % g.stride;
  return first < kernelSize ? Math.ceil((kernelSize - first) / g.stride) : 0;
}

/**
 * The dispatches of conv_gather_subgroup.wgsl main: all phases in one where every phase has the same
 * taps; else one a phase, each compiled for its own row and column taps (k3 s2 p1: 1 x 1, 1 x 2, 2 x 1
 * and 2 x 2), so that no phase multiplies the zero weights of taps another phase has (9 taps of
 * multiply-adds instead of 16). Not where some phase has no taps at all (a kernel smaller than the stride).
 */
function subgroupGatherPhases(g: GatherGeometry): { first: number; count: number; columnPhase?: number; rowTaps: number }[] {
  const stride = phaseStride(g);
  const phases = Array.from({ length: stride * stride }, (_, phase) => ({
    first: phase, count: 1, columnPhase: phase % stride,
    rowTaps: phaseTaps(g, Math.floor(phase / stride), g.kernelHeight), columnTaps: phaseTaps(g, phase % stride, g.kernelWidth),
  }));
  const alike = phases.every((p) => p.rowTaps === phases[0]!.rowTaps && p.columnTaps === phases[0]!.columnTaps);
  if (!g.transposed || alike || phases.some((p) => p.rowTaps === 0 || p.columnTaps === 0)) {
    return [{ first: 0, count: stride * stride, rowTaps: g.transposed ? Math.ceil(g.kernelHeight / g.stride) : g.kernelHeight }];
  }
  return phases;
}

/** Output pixels of phase 0, the largest. */
const largestPhasePixels = (g: GatherGeometry): number =>
  g.batch * Math.ceil(g.outHeight / phaseStride(g)) * Math.ceil(g.outWidth / phaseStride(g));

/** convTranspose2d k4 s2 p1 doubling the size: what conv_gather_subgroup.wgsl main_phases computes. */
function isUpsampleK4S2(g: GatherGeometry): boolean {
  return g.transposed && g.kernelHeight === 4 && g.kernelWidth === 4 && g.stride === 2 && g.padding === 1
    && g.outHeight === 2 * g.inHeight && g.outWidth === 2 * g.inWidth;
}

/**
 * ROWS of conv_gather_subgroup.wgsl main: the row taps summed before each accumulator is read and
 * written. Two only where their 2 x TAPS four-pixel inputs stay in registers (convTranspose2d k4 s2:
 * 2 column taps); with more, the spills cost more than the halved accumulator traffic saves
 * (measured in bench/RESULTS.md).
 */
function rowsPerUpdate(strip: { columnTaps: number }, rowTaps: number): number {
  return strip.columnTaps <= 2 && rowTaps >= 2 ? 2 : 1;
}

/**
 * INPUTS of conv_gather_subgroup.wgsl main: the input channels summed before each accumulator update,
 * up to the 4 four-pixel inputs per update that stay in registers (as ROWS), where the channels divide
 * evenly: 4 for convTranspose2d k3 s2's 1 x 1 phase, 2 for its 1 x 2 and 2 x 1 phases.
 */
function inputsPerUpdate(g: GatherGeometry, entries: number): number {
  return [4, 2].find((inputs) => inputs * entries <= 4 && g.inChannels % inputs === 0) ?? 1;
}

/**
 * Halo columns for conv_gather_subgroup.wgsl's VEC4_STRIP (a thread's own 4 * pixelStep columns loaded
 * as aligned vec4s, the rest of its strip shared by its neighbours), or null where that does not
 * apply: rows not a multiple of 4 floats, or a strip that does not fit the halos of at most 4 columns
 * each side and one column of shift between phases. `left`: columns before the own ones in some
 * phase's strip; `right`: after.
 */
export function vec4StripHalo(g: GatherGeometry, columnPhase?: number): { left: number; right: number; maxShift: number } | null {
  if (g.inWidth % 4 !== 0) return null;
  const strip = stripGeometry(g, 4, columnPhase);
  const own = 4 * strip.pixelStep;
  const lefts: number[] = [];
  if (!g.transposed) lefts.push(g.padding);
  else {
    for (let phase = 0; phase < g.stride; phase++) {
      if (columnPhase !== undefined && phase !== columnPhase) continue;
      // As conv_gather_subgroup.wgsl's tapOrigin; a phase without taps multiplies its strip by zeros.
      const first = (phase + g.padding) % g.stride;
      const taps = phaseTaps(g, phase, g.kernelWidth);
      if (taps === 0) continue;
      lefts.push(taps - 1 - Math.floor((phase + g.padding - first) / g.stride));
    }
  }
  if (lefts.length === 0) return null;
  const left = Math.max(...lefts);
  const rights = lefts.map((l) => strip.width - l - own);
  const right = Math.max(...rights);
  const maxShift = left - Math.min(...lefts);
  // The shader's canonical strip holds 24 columns.
  if (lefts.some((l) => l < 0) || rights.some((r) => r < 0) || left > 4 || right > 4 || maxShift > 1 || left + own + right > 24) return null;
  return { left, right, maxShift };
}

/**
 * The variants the autotuner times for `g` on this engine, the default first: on a GPU the GEMM tiles
 * (gatherTiles), then the measured best on lavapipe (subgroup32 wherever 32 channels fill it: the
 * tuner's pick on every such bench layer, 1.06-1.39x faster than subgroup16 in CPU time; but subgroup16
 * first for kernels more than 4 columns wide, whose strip inputs spill: the SRGAN's k9 layers took
 * subgroup16 0.58-0.68x subgroup32's time), except that pixels8 comes before pixels16 (slower: on the
 * SRGAN's 64 -> 1 k9 layer 1.25x pixels16's time; but half its shader compile time, 1.9 against 4.0 s,
 * which a first `xraygen generate` pays), and that on a
 * CPU adapter a Winograd gather comes first where winogradByDefault or winogradK3F4ByDefault says it
 * pays (elsewhere it is the tuner's last candidate).
 */
export function gatherCandidates(engine: Engine, g: GatherGeometry): GatherVariant[] {
  const useful = usefulChannels(g.outChannels);
  const strip = stripGeometry(g).width <= MAX_STRIP_WIDTH;
  const subgroups = engine.subgroupMinSize >= 8;
  const wide = stripGeometry(g).columnTaps > 4;
  const all: GatherVariant[] = [...(wide ? ['subgroup16', 'subgroup32'] as const : ['subgroup32', 'subgroup16'] as const), 'subgroup8', 'phases8', 'pixels8', 'pixels16', 'strip8', 'strip16', 'strip4', 'gather8', 'gather16', 'gather4', 'winograd', 'winograd4'];
  const tiles = engine.adapterKind === 'gpu' ? gatherTiles(g) : [];
  const blocked = all.filter((v) => {
    if (v === 'winograd') return subgroups && (winogradApplies(g) || winogradK3Applies(g));
    if (v === 'winograd4') return subgroups && winogradK3F4Applies(g);
    if (v === 'phases8') return useful === 4 && subgroups && isUpsampleK4S2(g);
    if (v.startsWith('pixels')) return useful === 4 && subgroups && stripGeometry(g, channelsOf(v)).width <= MAX_PIXEL_STRIP;
    // subgroup32 reads the same 16-channel-padded weights; it only needs 32 channels to fill.
    if (v === 'subgroup32') return g.outChannels >= 32 && strip && subgroups;
    return channelsOf(v) <= useful && (!v.startsWith('subgroup') || (strip && subgroups)) && (!v.startsWith('strip') || strip);
  });
  // On a CPU adapter a Winograd gather first where it pays (winogradK3F4ByDefault, winogradByDefault); a dry
  // run planning for one assumes its subgroups (Engine.subgroupMinSize), so it plans the same buffers.
  const cpuWinograd = engine.adapterKind === 'cpu' && subgroups;
  const first = !cpuWinograd ? null : winogradK3F4ByDefault(g) ? 'winograd4' as const : winogradByDefault(g) ? 'winograd' as const : null;
  const ordered = first ? [first, ...blocked.filter((v) => v !== first)] : blocked;
  // The tiles come first where they have 16 channels to fill (see weightGradCandidates).
  return g.outChannels >= 16 ? [...tiles, ...ordered] : [...ordered, ...tiles];
}

/**
 * The GEMM tiles that suit `g`: at least half of a tile's channels used. Candidates on GPUs only: on
 * lavapipe they took 4-15x the time of the register-blocked kernels (bench/RESULTS.md), so a CPU
 * adapter runs them only when convTuning forces one.
 */
export function gatherTiles(g: GatherGeometry): GatherTileVariant[] {
  const tiles = TILE_VARIANTS.filter((v) => tileOf(v).rows <= largestUsefulTile(g.outChannels));
  // tile32x32k4 first where 64 x 64 tiles would not give each multiprocessor of a large GPU (an H100
  // has 132) several workgroups: 4x the threads, each a quarter of the reduction. The tiles split over
  // workgroups last, where they split at all (measured on an H100 only: not yet a default).
  const workgroups = tileWorkgroups(g, tileOf('tile64x64'));
  const split = SPLIT_TILE_VARIANTS.filter((v) => tileOf(v).rows <= largestUsefulTile(g.outChannels) && gatherSplits(g, tileOf(v)) > 1);
  return workgroups < GPU_TILE_WORKGROUPS ? ['tile32x32k4', ...tiles, ...split] : [...tiles, 'tile32x32k4', ...split];
}

/**
 * Workgroups a GPU's tiled gather or weight gradient wants at least: several per multiprocessor of a
 * large GPU (an H100 has 132), two waves at two per multiprocessor.
 */
const GPU_TILE_WORKGROUPS = 512;
/** Each split of a gather's reduction is at least this many of the tile's steps. */
const MIN_STEPS_PER_SPLIT = 8;
const MAX_SPLITS = 8;

/** Workgroups of a tiled gather without splits: tiles of the largest phase, times the phases. */
function tileWorkgroups(g: GatherGeometry, tile: ReturnType<typeof tileOf>): number {
  const stride = phaseStride(g);
  return Math.ceil(largestPhasePixels(g) / tile.columns) * Math.ceil(g.outChannels / tile.rows) * stride * stride;
}

/**
 * Workgroups per tile over which a split tile variant divides the reduction: enough to give
 * GPU_TILE_WORKGROUPS, each split at least MIN_STEPS_PER_SPLIT steps, the partial outputs within
 * MAX_PARTIAL_BYTES. From the shape alone.
 */
export function gatherSplits(g: GatherGeometry, tile: ReturnType<typeof tileOf>): number {
  const stride = phaseStride(g);
  // A step is tileStep input channels of one tap (conv_gather_tiled.wgsl StepAt).
  const steps = Math.ceil(g.inChannels / tileStep(tile)) * Math.ceil(g.kernelHeight / stride) * Math.ceil(g.kernelWidth / stride);
  const outputBytes = 4 * g.batch * g.outChannels * g.outHeight * g.outWidth;
  const wanted = Math.ceil(GPU_TILE_WORKGROUPS / tileWorkgroups(g, tile));
  return Math.max(1, Math.min(wanted, MAX_SPLITS, Math.floor(steps / MIN_STEPS_PER_SPLIT), Math.floor(MAX_PARTIAL_BYTES / outputBytes)));
}

/**
 * Every variant that can run `g` here: the candidates, and every tile (any shape: partial tiles are
 * masked), the split ones where they split.
 */
export function runnableGatherVariants(engine: Engine, g: GatherGeometry): GatherVariant[] {
  const candidates = gatherCandidates(engine, g);
  const tiles: GatherTileVariant[] = [...TILE_VARIANTS, 'tile32x32k4', ...SPLIT_TILE_VARIANTS.filter((v) => gatherSplits(g, tileOf(v)) > 1)];
  return [...candidates, ...tiles.filter((v) => !candidates.includes(v))];
}

/**
 * ROW_SPLIT of conv_grad_weight_subgroup.wgsl: when few threads have work, the otherwise idle lanes of
 * the 64-thread workgroup take other rows. A subgroup's broadcasts serve one row at a time, so each
 * row group must be whole subgroups: 64 / ROW_SPLIT lanes, a multiple of the largest subgroup the
 * adapter may run (NVIDIA: 32, so at most 2 groups; lavapipe: 8).
 */
export function weightGradRowSplit(threadsNeeded: number, subgroupMaxSize: number, aChannels = 16): number {
  let split = threadsNeeded % 8 !== 0 ? 1 : threadsNeeded <= 16 ? 4 : threadsNeeded <= 32 ? 2 : 1;
  const wholeSubgroups = subgroupMaxSize > 0 ? Math.max(1, Math.floor(GATHER_WORKGROUP / subgroupMaxSize)) : 1;
  split = Math.min(split, wholeSubgroups);
  // The other groups' sums go through the shader's 1024-vec4 workgroup array (16 KiB).
  while (split > 1 && (split - 1) * (GATHER_WORKGROUP / split) * aChannels > SPLIT_SUMS) split /= 2;
  return split;
}

/** vec4 entries of conv_grad_weight_subgroup.wgsl's `splitSums`. */
const SPLIT_SUMS = 1024;

/** What the weight-gradient variants' conditions look at, besides the gradient's channel count. */
export interface WeightGradShape {
  height: number;
  width: number;
  stride: number;
  /** Channels of the window side (b). */
  inChannels: number;
  /** Columns of the gradient side. */
  gradWidth: number;
  /** Rows of the gradient side, the window side's rows and columns, and the padding (the Winograd variant's conditions). */
  gradHeight: number;
  inHeight: number;
  inWidth: number;
  padding: number;
}

/** What main_taps' sizes depend on. */
type TapsShape = Pick<WeightGradShape, 'inChannels' | 'height' | 'width'>;

/** Threads of conv_grad_weight_subgroup.wgsl main_taps: b x kernel rows x quads of taps. */
const tapsThreads = (k: TapsShape): number => k.inChannels * k.height * Math.ceil(k.width / 4);
/** Lanes per team of main_taps: its threads rounded up to a power of 2 (the surplus idles). */
const tapsTeam = (k: TapsShape): number => 2 ** Math.ceil(Math.log2(tapsThreads(k)));

function winogradShape(gradChannels: number, k: WeightGradShape): WinogradWeightGradShape {
  return {
    gradChannels, gradHeight: k.gradHeight, gradWidth: k.gradWidth, inChannels: k.inChannels, inHeight: k.inHeight, inWidth: k.inWidth,
    kernelHeight: k.height, kernelWidth: k.width, stride: k.stride, padding: k.padding,
  };
}

/**
 * The weight-gradient variants the autotuner times on this engine, the default first (on a GPU the
 * GEMM tiles, weightGradTiles). `rows` (several taps
 * of a kernel row per thread, conv_grad_weight_subgroup.wgsl main_rows) needs the kernel width and stride: at most 4
 * taps per thread, stride at most 4.
 */
export function weightGradCandidates(engine: Engine, gradChannels: number, kernel?: WeightGradShape): WeightGradVariant[] {
  const useful = usefulChannels(gradChannels);
  const subgroups = engine.subgroupMinSize >= 8;
  // taps16 where it applies (1-2 input channels): it has no empty quads of b. Else the rows variants
  // (the first that applies, in the order below): they won on every shape timed, down to 8 input channels
  // (16 threads of work: 0.57x of subgroup16).
  const all: WeightGradVariant[] = ['taps16', 'rows8', 'rows16', 'rows32', 'subgroup16', 'subgroup32', 'subgroup8', 'plain16', 'plain8', 'plain4', 'winograd'];
  const tiles = engine.adapterKind === 'gpu' ? weightGradTiles(gradChannels, kernel) : [];
  const blocked = all.filter((v) => {
    if (v === 'taps16') {
      // Window sides of 1-2 channels; a team within the 64 lanes; rows of whole vec4s; a strip of at most 16 columns.
      return subgroups && !!kernel && kernel.inChannels <= 2 && tapsTeam(kernel) <= GATHER_WORKGROUP
        && kernel.gradWidth % 4 === 0 && kernel.stride <= 4;
    }
    if (v === 'winograd') return subgroups && !!kernel && winogradWeightGradApplies(winogradShape(gradChannels, kernel));
    if (v.startsWith('rows')) {
      if (!subgroups || !kernel || kernel.stride > 4) return false;
      const taps = Math.ceil(kernel.width / kernel.stride);
      // rows32 (like subgroup32) only needs 32 channels to fill.
      return taps <= 4 && (v === 'rows32' ? gradChannels >= 32 : channelsOf(v) <= useful);
    }
    // subgroup32 only needs 32 channels to fill (the partial sums have no padding).
    if (v === 'subgroup32') return subgroups && gradChannels >= 32;
    return channelsOf(v) <= useful && (!v.startsWith('subgroup') || subgroups);
  });
  // main_rows with 4 taps a thread (k4 s1, as in the CGAN generator's first layer) took 2.0-3.3x
  // subgroup16's time on every such shape timed (gradient sides 1x1 to 33x33), while with 2-3 taps (k4
  // s2, k3 s1) it takes about half of it: there the rows variants go last (bench/RESULTS.md). With 2
  // taps a thread (k4 s2, k3 s2) rows16 then rows32 come before rows8: rows16 took 0.70-0.82x rows8's
  // time on all eleven such shapes timed on 2026-11-27 (the 03:40 timings that put rows8 first predate
  // main_rows' carried strip); with 3 (k3 s1) the two were within 0.94-1.03x and rows8 stays first.
  const taps = kernel ? Math.ceil(kernel.width / kernel.stride) : 0;
  const rowsOrder = taps === 2 ? ['rows16', 'rows32', 'rows8'] : ['rows8', 'rows16', 'rows32'];
  const rows = rowsOrder.filter((v) => blocked.includes(v as WeightGradVariant)) as WeightGradVariant[];
  const others = blocked.filter((v) => !v.startsWith('rows'));
  const rowsOrdered = taps === 4 ? [...others, ...rows] : [...others.filter((v) => v === 'taps16'), ...rows, ...others.filter((v) => v !== 'taps16')];
  // On a CPU adapter the Winograd weight gradient first where it pays (winogradWeightGradByDefault).
  const winogradFirst = engine.adapterKind === 'cpu' && subgroups && !!kernel
    && winogradWeightGradByDefault(winogradShape(gradChannels, kernel));
  const ordered = winogradFirst ? ['winograd' as const, ...rowsOrdered.filter((v) => v !== 'winograd')] : rowsOrdered;
  // On a GPU the tiles come first: the register-blocked kernels, sized for a CPU's few cores, ran an
  // H200's weight gradients 15-34x slower than cuDNN (bench/RESULTS.md).
  return [...tiles, ...ordered];
}

/** The GEMM tiles that suit a weight gradient: at least half of a tile's rows and columns used (GPU candidates, as gatherTiles). */
export function weightGradTiles(gradChannels: number, kernel?: WeightGradShape): TileVariant[] {
  if (!kernel) return [];
  const columns = kernel.inChannels * kernel.height * kernel.width;
  return TILE_VARIANTS.filter((v) => tileOf(v).rows <= largestUsefulTile(gradChannels) && tileOf(v).columns <= largestUsefulTile(columns));
}

/** Every weight-gradient variant that can run here (as runnableGatherVariants). */
export function runnableWeightGradVariants(engine: Engine, gradChannels: number, kernel: WeightGradShape): WeightGradVariant[] {
  const candidates = weightGradCandidates(engine, gradChannels, kernel);
  return [...candidates, ...weightGradTiles(gradChannels, kernel).filter((v) => !candidates.includes(v))];
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
 * weight [A, B, kH, kW] -> [Cin, kH, kW, paddedChannels(Cout)]: a tap's output channels side by side.
 * `outputIsFirst`: A is the output channel (conv2d layout) rather than the input channel.
 */
function packWeights(weight: Tensor, outputIsFirst: boolean): Tensor {
  const [first, second, kernelHeight, kernelWidth] = weight.shape;
  const outChannels = outputIsFirst ? first : second;
  const inChannels = outputIsFirst ? second : first;
  const paddedOutChannels = paddedChannels(outChannels);
  const taps = kernelHeight * kernelWidth;
  const count = inChannels * taps * paddedOutChannels;
  const packed = weight.engine.empty([count], 'f32', 'conv packed weights');
  const outputQuads = paddedOutChannels / 4;
  if (inChannels > MAX_WORKGROUPS_PER_DIMENSION || taps > MAX_WORKGROUPS_PER_DIMENSION) {
    throw new AdapterLimitError(`conv: weight ${shapeString(weight.shape)} has too many channels or taps for one dispatch (65,535 workgroups a dimension)`);
  }
  weight.engine.run(packKernel, {
    buffers: { weight, packed },
    params: { first, second, taps, outputQuads, outputIsFirst: outputIsFirst ? 1 : 0 },
    workgroups: [Math.ceil(outputQuads / 64), taps, inChannels],
    label: `conv pack ${shapeString(weight.shape)}`,
    bytes: (weight.size + count) * 4,
  });
  return packed;
}

/**
 * An activation a gather applies to its outputs as it stores them (the shaders' `epilogue`). Its
 * backward works from the output, so a LeakyReLU slope must be positive (the output's sign is then the
 * pre-activation's). A PReLU (one learned slope) is for inference only: its slope reaches the kernels
 * in the bias binding, after the biases (engine/ops/conv.ts packs them).
 */
export type ConvActivation = 'none' | 'tanh' | { leakyRelu: number } | { prelu: Tensor };

/** The epilogue's pipeline constants for `activation` (none at all without one: those kernels compile as before). */
function activationOverrides(activation: ConvActivation): Record<string, number> {
  if (activation === 'none') return {};
  if (activation === 'tanh') return { ACTIVATION: 1 };
  if ('prelu' in activation) return { ACTIVATION: 3 };
  return { ACTIVATION: 2, SLOPE: activation.leakyRelu };
}

/** The Params struct shared by the gather shaders. */
function gatherParams(g: GatherGeometry, hasBias: boolean): Record<string, number> {
  return {
    batch: g.batch, inChannels: g.inChannels, inHeight: g.inHeight, inWidth: g.inWidth,
    outChannels: g.outChannels, outHeight: g.outHeight, outWidth: g.outWidth,
    kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth, stride: g.stride, padding: g.padding,
    transposed: g.transposed ? 1 : 0, hasBias: hasBias ? 1 : 0, paddedOutChannels: paddedChannels(g.outChannels), firstPhase: 0,
  };
}

/** Multiply-adds a gather really does (taps that land outside the input excluded only for convT phases). */
export function gatherMacs(g: GatherGeometry): number {
  const taps = g.kernelHeight * g.kernelWidth;
  const perOutput = g.transposed ? (g.inChannels * taps) / (g.stride * g.stride) : g.inChannels * taps;
  return g.batch * g.outChannels * g.outHeight * g.outWidth * perOutput;
}

/** Multiply-adds of one convTranspose2d phase with `taps` taps. */
function phaseMacs(g: GatherGeometry, phase: number, taps: number): number {
  const length = (size: number, p: number) => Math.max(0, Math.ceil((size - p) / g.stride));
  const pixels = length(g.outHeight, Math.floor(phase / g.stride)) * length(g.outWidth, phase % g.stride);
  return g.batch * g.outChannels * pixels * g.inChannels * taps;
}

/**
 * out [N, Cout, OH, OW] = `activation` of the conv2d (or convTranspose2d, if g.transposed) of x, plus
 * bias (for a PReLU, bias holds the Cout biases and then the slope).
 */
export function gatherConvolution(
  x: Tensor, weight: Tensor, outputIsFirst: boolean, bias: Tensor | null, g: GatherGeometry, variant: GatherVariant, activation: ConvActivation = 'none',
): Tensor {
  const engine = x.engine;
  if (!runnableGatherVariants(engine, g).includes(variant)) throw new Error(`conv: variant ${variant} cannot run ${JSON.stringify(g)}`);
  const out = engine.empty([g.batch, g.outChannels, g.outHeight, g.outWidth], 'f32', g.transposed ? 'convTranspose2d' : 'conv2d');
  const fused = activationOverrides(activation);
  if (variant === 'winograd' || variant === 'winograd4') {
    (variant === 'winograd4' ? winogradK3F4Gather : winogradApplies(g) ? winogradGather : winogradK3Gather)(x, weight, outputIsFirst, bias, out, g, fused);
    return out;
  }
  const packed = packWeights(weight, outputIsFirst);
  const params = gatherParams(g, bias !== null);
  if (isTile(variant)) {
    const tile = tileOf(variant);
    const splits = tile.split ? gatherSplits(g, tile) : 1;
    if (splits === 1) {
      runTiled(x, packed, bias, out, g, tile, 1, params, fused);
    } else {
      const partial = engine.empty([splits, ...out.shape], 'f32', 'conv gather partial');
      runTiled(x, packed, bias, partial, g, tile, splits, params, fused);
      engine.run(reduceSplitsKernel, {
        buffers: { partialOutputs: partial, bias: bias ?? packed, result: out },
        params,
        overrides: { SPLITS: splits, ...fused },
        workgroups: linearGrid(out.size),
        label: `${out.name} reduce ${splits} splits`,
        bytes: (partial.size + out.size) * 4,
      });
      partial.dispose();
    }
    packed.dispose();
    return out;
  }
  if (variant === 'phases8') {
    runPhases(x, packed, bias, out, g, 8, params, fused);
    packed.dispose();
    return out;
  }
  if (variant.startsWith('subgroup')) {
    runSubgroupGather(x, packed, bias, out, g, channelsOf(variant), params, fused);
    packed.dispose();
    return out;
  }
  // Phase 0 has the most rows and columns; threads past their own phase's extent do no stores.
  const stride = phaseStride(g);
  const pixels = variant.startsWith('pixels') ? channelsOf(variant) : 4;
  const groups = gatherWorkgroups(g, pixels, out);
  // Output channels per thread (one for main_pixels, whose number counts pixels).
  const channels = variant.startsWith('pixels') ? 1 : channelsOf(variant);
  const strip = stripGeometry(g, pixels);
  const alignedPixels = variant.startsWith('pixels') && pixelStripAligned(g, pixels);
  const [kernelToRun, overrides] = variant.startsWith('pixels')
    ? [pixelsGatherKernel, {
      PIXELS: pixels, PIXEL_STRIP: strip.width, COLUMN_TAPS: strip.columnTaps, STRIP_PIXEL_STEP: strip.pixelStep, PIXEL_VEC4: alignedPixels ? 1 : 0,
      PIXEL_WHOLE_BANKS: g.inChannels % 8 === 0 ? 1 : 0,
    }]
    : variant.startsWith('strip') ? [stripGatherKernel, { CHANNEL_QUADS: channels / 4, STRIP_WIDTH: strip.width, STRIP_PIXEL_STEP: strip.pixelStep }]
    : [gatherKernel, { CHANNEL_QUADS: channels / 4 }];
  engine.run(kernelToRun, {
    // x4 is x seen as vec4s, read by main_pixels with PIXEL_VEC4 (any buffer of 16 bytes will do otherwise).
    buffers: { x, ...(variant.startsWith('pixels') ? { x4: alignedPixels ? x : packed } : {}), weights: packed, bias: bias ?? packed, out },
    params,
    overrides: { ...overrides, ...fused },
    workgroups: [groups, Math.ceil(g.outChannels / channels), stride * stride],
    label: gatherLabel(x, out, g),
    flops: 2 * gatherMacs(g),
    bytes: (x.size + packed.size + out.size) * 4,
  });
  packed.dispose();
  return out;
}

const gatherLabel = (x: Tensor, out: Tensor, g: GatherGeometry): string =>
  `${out.name} ${shapeString(x.shape)} -> ${shapeString(out.shape)} k${g.kernelHeight}x${g.kernelWidth} s${g.stride} p${g.padding}`;

/** Workgroups (x) of a direct gather, `pixels` outputs of a row per thread: phase 0's, the largest. */
function gatherWorkgroups(g: GatherGeometry, pixels: number, out: Tensor): number {
  const stride = phaseStride(g);
  const threads = g.batch * Math.ceil(g.outHeight / stride) * Math.ceil(Math.ceil(g.outWidth / stride) / pixels);
  const groups = Math.ceil(threads / GATHER_WORKGROUP);
  if (groups > MAX_WORKGROUPS_PER_DIMENSION) throw new AdapterLimitError(`conv: output ${shapeString(out.shape)} is too large for one dispatch (65,535 workgroups a dimension)`);
  return groups;
}

/** conv_gather_subgroup.wgsl main, `channels` output channels per thread, in the dispatches subgroupGatherPhases says. */
function runSubgroupGather(
  x: Tensor, packed: Tensor, bias: Tensor | null, out: Tensor, g: GatherGeometry, channels: number, params: Record<string, number>, fused: Record<string, number>,
): void {
  const groups = gatherWorkgroups(g, 4, out);
  const phases = subgroupGatherPhases(g);
  for (const phase of phases) {
    const strip = stripGeometry(g, 4, phase.columnPhase);
    const rows = rowsPerUpdate(strip, phase.rowTaps);
    // Aligned strip loads wherever they apply (0.8-0.9x the time of scalar ones on the bench layers), unless convTuning says otherwise.
    const halo = convTuning.vec4Strip !== 'off' ? vec4StripHalo(g, phase.columnPhase) : null;
    const vec4Overrides: Record<string, number> = halo ? { VEC4_STRIP: 1, HALO_LEFT: halo.left, HALO_RIGHT: halo.right, MAX_SHIFT: halo.maxShift } : { VEC4_STRIP: 0 };
    x.engine.run(subgroupGatherKernel, {
      // x4 is x seen as vec4s; without VEC4_STRIP it is not read, and any buffer of 16 bytes will do.
      buffers: { x, x4: halo ? x : packed, weights4: packed, bias: bias ?? packed, out },
      params: { ...params, firstPhase: phase.first },
      overrides: { CHANNELS: channels, ROWS: rows, INPUTS: inputsPerUpdate(g, rows * strip.columnTaps), STRIP_WIDTH: strip.width, STRIP_PIXEL_STEP: strip.pixelStep, ...vec4Overrides, ...fused },
      workgroups: [groups, Math.ceil(g.outChannels / channels), phase.count],
      label: gatherLabel(x, out, g) + (phases.length > 1 ? ` phase ${phase.first}` : ''),
      flops: 2 * (phases.length > 1 ? phaseMacs(g, phase.first, phase.rowTaps * strip.columnTaps) : gatherMacs(g)),
      bytes: (x.size + packed.size + (out.size * phase.count) / phaseStride(g) ** 2) * 4,
    });
  }
}

/**
 * conv_gather_tiled.wgsl: one GEMM per output phase, `tile` channels x pixels per workgroup; with
 * `splits` > 1, `out` is [splits, ...output] and each split does its part of the reduction.
 */
function runTiled(
  x: Tensor, packed: Tensor, bias: Tensor | null, out: Tensor, g: GatherGeometry, tile: ReturnType<typeof tileOf>, splits: number,
  params: Record<string, number>, fused: Record<string, number>,
): void {
  // Workgroups past their own phase's pixels store nothing.
  const stride = phaseStride(g);
  const groups = Math.ceil(largestPhasePixels(g) / tile.columns);
  if (groups > MAX_WORKGROUPS_PER_DIMENSION) throw new AdapterLimitError(`conv: output ${shapeString(out.shape)} is too large for one dispatch (65,535 workgroups a dimension)`);
  x.engine.run(tiledGatherKernel, {
    buffers: { x, weights: packed, bias: bias ?? packed, out },
    params,
    // The split tile: 4 x 4 outputs per thread of 8 x 8; the others: 16 x 16 threads.
    overrides: {
      ...(tile.kSplit > 1 ? { K_SPLIT: tile.kSplit, GROUP_X: 8, THREAD_C: 4, THREAD_P: 4 } : { THREAD_C: tile.rows / 16, THREAD_P: tile.columns / 16, SPLITS: splits }),
      BUFFERS: tileBuffers(x.engine, tile), ...fused,
    },
    workgroups: [groups, Math.ceil(g.outChannels / tile.rows), stride * stride * splits],
    label: `${out.name} ${shapeString(x.shape)} -> ${shapeString(out.shape)} k${g.kernelHeight}x${g.kernelWidth} s${g.stride} p${g.padding} (tile ${tile.rows}x${tile.columns}${tile.kSplit > 1 ? ` k${tile.kSplit}` : ''}${splits > 1 ? `, ${splits} splits` : ''})`,
    flops: 2 * gatherMacs(g),
    bytes: (x.size + packed.size + out.size) * 4,
  });
}

/** conv_gather_subgroup.wgsl main_phases: all four output phases per thread, `pixels` input columns each. */
function runPhases(
  x: Tensor, packed: Tensor, bias: Tensor | null, out: Tensor, g: GatherGeometry, pixels: number, params: Record<string, number>, fused: Record<string, number>,
): void {
  const threads = g.batch * g.inHeight * Math.ceil(g.inWidth / pixels);
  const groups = Math.ceil(threads / GATHER_WORKGROUP);
  if (groups > MAX_WORKGROUPS_PER_DIMENSION) throw new AdapterLimitError(`conv: output ${shapeString(out.shape)} is too large for one dispatch (65,535 workgroups a dimension)`);
  // Aligned vec4 loads of the input rows where they are a multiple of 4 long.
  const vec4 = g.inWidth % 4 === 0 && pixels % 4 === 0;
  x.engine.run(phasesKernel, {
    buffers: { x, x4: x, weights: packed, bias: bias ?? packed, out },
    params,
    overrides: { PHASE_COLUMNS: pixels, PHASE_VEC4: vec4 ? 1 : 0, ...fused },
    workgroups: [groups, g.outChannels, 1],
    label: `${out.name} ${shapeString(x.shape)} -> ${shapeString(out.shape)} k4x4 s2 p1 (4 phases per thread)`,
    flops: 2 * gatherMacs(g),
    bytes: (x.size + packed.size + out.size) * 4,
  });
}

/**
 * ROWS_WORKGROUP of main_rows (workgroupSizeFor, at most 64 lanes): S1's 48 threads get 48, where 64
 * would idle 16; the kx0 = 1 dispatch of a k3 s2 layer with 128 input channels, 96 threads, 2 x 48
 * rather than 2 x 64.
 */
const rowsWorkgroup = (threads: number, subgroupLanes: number): number => workgroupSizeFor(threads, GATHER_WORKGROUP, subgroupLanes);

/**
 * The dispatches of conv_grad_weight_subgroup.wgsl main_rows, whose threads take the kernel columns kx0,
 * kx0 + stride, ...: all `stride` kx0 in one where each has the same taps; else one a kx0 with its own
 * taps (k3 s2: 2 taps for kx0 = 0, 1 for kx0 = 1; in one dispatch, kx0 = 1 would also compute the
 * missing tap 3: 4 taps of work for 3).
 */
function rowsColumnPhases(kernelWidth: number, stride: number): { first: number; count: number; taps: number }[] {
  if (kernelWidth % stride === 0) return [{ first: 0, count: stride, taps: kernelWidth / stride }];
  return Array.from({ length: Math.min(stride, kernelWidth) }, (_, kx0) => ({ first: kx0, count: 1, taps: Math.ceil((kernelWidth - kx0) / stride) }));
}

/**
 * Workgroups a weight gradient should launch when its output alone does not provide them: enough for
 * every core of a CPU adapter (2-core lavapipe: 32), or to spread over a GPU's multiprocessors (an
 * H200 has 132; at 32 a layer like S1 ran 72 workgroups and its weight gradient was 34x slower than
 * cuDNN's).
 */
const TARGET_WORKGROUPS: Record<AdapterKind, number> = { cpu: 32, gpu: 1024 };
const MIN_ROWS_PER_CHUNK = 4;
/** The chunks' partial sums are one extra buffer; more chunks than fit in this are not worth their memory. */
const MAX_PARTIAL_BYTES = 32 * 2 ** 20;

/**
 * On a GPU the weight gradient's chunks also let its 128 x 128 tiles make GPU_TILE_WORKGROUPS. From the
 * 64-thread blocks alone, U1's 10 such tiles got 22 chunks: 220 workgroups, and its weight gradient took
 * 2.0-2.2x cuDNN's time; at 52 chunks, 0.90x the time it took at 22. Each chunk keeps at least
 * GPU_TILE_CHUNK_POSITIONS positions of the reduction: the same rule without that floor doubled G3's
 * chunks (8 gradient rows of 64 each) and made its weight gradient 1.3x slower.
 */
const GPU_TILE_CHUNK_POSITIONS = 1024;

/**
 * How many chunks of `rows` (batch x gradient rows, `rowLength` positions each) the weight gradient
 * splits into, each its own workgroups and partial sum: `blocks` workgroups per chunk, `size` floats
 * per partial sum; on a GPU, also enough for `largeTiles` (128 x 128 tiles of the GEMM) to give
 * GPU_TILE_WORKGROUPS. From the shape alone, so that every variant allocates the same partial sums.
 */
export function weightGradChunks(rows: number, blocks: number, size: number, kind: AdapterKind, largeTiles = 0, rowLength = 1): number {
  const forTiles = kind === 'gpu' && largeTiles > 0
    ? Math.min(Math.ceil(GPU_TILE_WORKGROUPS / largeTiles), Math.floor((rows * rowLength) / GPU_TILE_CHUNK_POSITIONS)) : 0;
  const wanted = Math.max(Math.ceil(TARGET_WORKGROUPS[kind] / blocks), forTiles);
  const affordable = Math.floor(MAX_PARTIAL_BYTES / (4 * size));
  const chunks = Math.max(1, Math.min(wanted, affordable, Math.floor(rows / MIN_ROWS_PER_CHUNK)));
  // Equal chunks, so the last one is not a sliver: the count that ceil-sized chunks really use.
  return Math.ceil(rows / Math.ceil(rows / chunks));
}

/**
 * Whether a weight gradient is better computed with its sides swapped: at stride 1 with a square
 * kernel, dW[a, b, ky, kx] = dW'[b, a, k-1-ky, k-1-kx], where dW' takes `input` as the gradient side,
 * `gradient` as the window side and padding k-1-p (both sum gradient[y] * input[y + ky - p] over every
 * y where both exist). Worth it where the gradient side has 1-2 channels and the window side more:
 * no variant blocks over a's then, while the swapped problem fits main_taps. The SRGAN's last conv
 * (64 -> 1 channel, 9 x 9) in a training step: 546 ms per call (plain4) as it is, 46 ms swapped
 * (bench/RESULTS.md).
 */
export function weightGradSwap(gradChannels: number, inChannels: number, kernelHeight: number, kernelWidth: number, stride: number, padding: number,
  inWidth: number): boolean {
  if (stride !== 1 || kernelHeight !== kernelWidth || padding > kernelHeight - 1 || gradChannels > 2 || inChannels <= 2) return false;
  // main_taps' conditions on the swapped shape, from the shape alone, so that an adapter without subgroups
  // swaps too and plans the same buffers; there the swapped problem still blocks over its many gradient
  // channels (plain16) where the original could not.
  const swapped = { height: kernelHeight, width: kernelWidth, inChannels: gradChannels };
  return tapsTeam(swapped) <= GATHER_WORKGROUP && inWidth % 4 === 0;
}

/** shaders/channel_quads.wgsl: `x` [N, C, H, W] as [N, ceil(C / 4), H, W] vec4s of 4 channels. */
function channelQuads(x: Tensor): Tensor {
  const [batch, channels, height, width] = x.shape;
  const quadCount = Math.ceil(channels / 4);
  const quads = x.engine.empty([batch, quadCount, height, width, 4], 'f32', 'conv weight grad input quads');
  const plane = height * width;
  const pixelGroups = Math.ceil(plane / (4 * 64));
  if (pixelGroups > MAX_WORKGROUPS_PER_DIMENSION || quadCount > MAX_WORKGROUPS_PER_DIMENSION || batch > MAX_WORKGROUPS_PER_DIMENSION) {
    throw new AdapterLimitError(`conv: input ${shapeString(x.shape)} is too large for one channel-quads dispatch (65,535 workgroups a dimension)`);
  }
  const vec4 = plane % 4 === 0;
  x.engine.run(vec4 ? channelQuadsVec4Kernel : channelQuadsKernel, {
    buffers: vec4 ? { x4: x, quads } : { x, quads },
    params: { channels, plane },
    workgroups: [pixelGroups, quadCount, batch],
    label: `channel quads ${shapeString(x.shape)}`,
    bytes: (x.size + quads.size) * 4,
  });
  return quads;
}

/**
 * dW [A, B, kH, kW] = sum over n, gy, gx of gradient[n, a, gy, gx] * input[n, b, gy*s - p + ky, gx*s - p + kx]
 * (see shaders/conv_grad_weight.wgsl for which tensor plays which role in each op). `flipped`: the
 * sides come swapped (weightGradSwap), and the result is [B, A, kH, kW] with the taps reversed.
 */
export function convolutionWeightGradient(
  gradient: Tensor, input: Tensor, kernelHeight: number, kernelWidth: number, stride: number, padding: number, variant: WeightGradVariant,
  flipped = false,
): Tensor {
  const engine = gradient.engine;
  const [batch, gradChannels, gradHeight, gradWidth] = gradient.shape;
  const [, inChannels, inHeight, inWidth] = input.shape;
  const taps = kernelHeight * kernelWidth;
  const threadsNeeded = Math.ceil(inChannels / 4) * taps;
  const threadBlocks = Math.ceil(threadsNeeded / GATHER_WORKGROUP);
  const kernelShape = { height: kernelHeight, width: kernelWidth, stride, inChannels, gradWidth, gradHeight, inHeight, inWidth, padding };
  if (!runnableWeightGradVariants(engine, gradChannels, kernelShape).includes(variant)) {
    throw new Error(`conv weight grad: variant ${variant} cannot run ${gradChannels} channels, kernel width ${kernelWidth}, stride ${stride}`);
  }
  if (variant === 'winograd') return winogradWeightGradient(gradient, input, kernelHeight);
  const subgroup = variant.startsWith('subgroup');
  const aChannels = isTile(variant) ? tileOf(variant).rows : channelsOf(variant);
  const groupsY = Math.ceil(gradChannels / aChannels);
  const rows = batch * gradHeight;
  // The chunk count (and so the partial buffer) depends on the shape and adapter kind, not on the variant.
  const blocks = threadBlocks * Math.ceil(gradChannels / usefulChannels(gradChannels));
  const shape = [gradChannels, inChannels, kernelHeight, kernelWidth];
  const size = gradChannels * inChannels * taps;
  const largeTiles = Math.ceil(gradChannels / 128) * Math.ceil((inChannels * taps) / 128);
  const usedChunks = weightGradChunks(rows, blocks, size, engine.adapterKind, largeTiles, gradWidth);
  const rowsPerChunk = Math.ceil(rows / usedChunks);
  const partial = engine.empty(usedChunks === 1 ? shape : [usedChunks, ...shape], 'f32', usedChunks === 1 ? 'conv weight grad' : 'conv weight grad partial');
  const params = {
    batch, gradChannels, gradHeight, gradWidth, inChannels, inHeight, inWidth,
    kernelHeight, kernelWidth, stride, padding, rowsPerChunk, chunks: usedChunks, firstColumnPhase: 0,
  };
  const label = `conv weight grad ${shapeString(gradient.shape)} x ${shapeString(input.shape)} -> ${shapeString(shape)}`;
  const work = { flops: 2 * size * rows * gradWidth, bytes: (gradient.size + input.size + partial.size) * 4 };
  if (isTile(variant)) {
    const tile = tileOf(variant);
    engine.run(tiledWeightGradientKernel, {
      buffers: { gradient, input, partial },
      params,
      overrides: { THREAD_A: tile.rows / 16, THREAD_B: tile.columns / 16 },
      workgroups: [Math.ceil((inChannels * taps) / tile.columns), groupsY, usedChunks],
      label, ...work,
    });
  } else if (variant.startsWith('rows')) {
    // Aligned gradient loads where rows are a multiple of 4 long; otherwise gradient4 is not read (rows
    // variants need more than 4 gradient channels, so the binding has its 16 bytes anyway).
    const vec4 = gradWidth % 4 === 0;
    // On a CPU adapter, the input packed as channel quads first (main_rows' INPUT_QUADS: a column's 4
    // b's in one load). A copy of the input for the call's duration; not on GPUs, whose memory plans
    // (dry runs) do not count it and where main_rows is not the tuned choice.
    const quads = engine.adapterKind === 'cpu' ? channelQuads(input) : null;
    const phases = rowsColumnPhases(kernelWidth, stride);
    for (const phase of phases) {
      const threads = Math.ceil(inChannels / 4) * kernelHeight * phase.count;
      const workgroup = rowsWorkgroup(threads, Math.max(8, engine.subgroupMaxSize));
      engine.run(rowsWeightGradientKernel, {
        buffers: { gradient, gradient4: gradient, input, inputQuads: quads ?? input, partial },
        params: { ...params, firstColumnPhase: phase.first },
        overrides: {
          A_CHANNELS: aChannels, STRIDE: stride, TAPS: phase.taps, COLUMN_PHASES: phase.count, GRADIENT_VEC4: vec4 ? 1 : 0, ROWS_WORKGROUP: workgroup,
          INPUT_QUADS: quads ? 1 : 0,
        },
        workgroups: [Math.ceil(threads / workgroup), groupsY, usedChunks],
        label: label + (phases.length > 1 ? ` kx0 ${phase.first}` : ''),
        flops: (work.flops * phase.count * phase.taps) / kernelWidth,
        bytes: work.bytes,
      });
    }
    quads?.dispose();
  } else if (variant === 'taps16') {
    const team = tapsTeam(kernelShape);
    engine.run(tapsWeightGradientKernel, {
      buffers: { gradient4: gradient, input, partial },
      params,
      // Lanes share their gradient loads by shuffle within the team, or within the smallest subgroup
      // where the team is larger, and at most one channel per lane.
      overrides: {
        A_CHANNELS: aChannels, STRIDE: stride, TEAM: team, TAP_STRIP: 3 * stride + 4,
        SHARE: Math.min(team, engine.subgroupMinSize, aChannels),
      },
      workgroups: [1, groupsY, usedChunks],
      label, ...work,
    });
  } else {
    const rowSplit = subgroup ? weightGradRowSplit(threadsNeeded, engine.subgroupMaxSize, aChannels) : 1;
    engine.run(subgroup ? subgroupWeightGradientKernel : weightGradientKernel, {
      buffers: { gradient, input, partial },
      params,
      overrides: subgroup ? { A_CHANNELS: aChannels, ROW_SPLIT: rowSplit } : { A_QUADS: aChannels / 4 },
      workgroups: [Math.ceil(threadsNeeded / (GATHER_WORKGROUP / rowSplit)), groupsY, usedChunks],
      label, ...work,
    });
  }
  if (usedChunks === 1 && !flipped) return partial;
  const result = engine.empty(flipped ? [inChannels, gradChannels, kernelHeight, kernelWidth] : shape, 'f32', 'conv weight grad');
  engine.run(reduceChunksKernel, {
    buffers: { partialSums: partial, result },
    params,
    overrides: { FLIPPED: flipped ? 1 : 0 },
    workgroups: linearGrid(size),
    label: `conv weight grad reduce ${usedChunks} chunks${flipped ? ', sides swapped back' : ''}`,
    bytes: (partial.size + size) * 4,
  });
  partial.dispose();
  return result;
}
