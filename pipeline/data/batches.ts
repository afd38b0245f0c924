// Batches for training: shuffled per epoch, uint8 -> [-1, 1] (x / 127.5 - 1), NCHW Float32Array plus
// Int32Array labels. 'lr' mode gives whole 128x128 LR images (CGAN); 'pairs' mode gives matching
// random crops (HR 96 at a multiple-of-4 offset, LR 24) for SRGAN. Deterministic from the seed.

import { UsageError } from '../../engine/errors.ts';
import type { ImageCache } from './cache.ts';
import { hashKeys, shuffled } from '../../engine/host-random.ts';
import type { Split } from './split.ts';

export interface BatchOptions {
  batchSize: number;
  /** which images (default 'train') */
  split?: Split | 'all';
  mode?: 'lr' | 'pairs';
  seed?: number;
  /** default true; false keeps cache order (evaluation) */
  shuffle?: boolean;
  /** drop a final short batch (default false) */
  dropLast?: boolean;
  epochs?: number;
  /** HR crop side in 'pairs' mode (default 96; 0 = whole images); must be a multiple of the scale */
  hrCrop?: number;
  /** batches prepared ahead by prefetchBatches (default 2) */
  prefetch?: number;
  /** start after this many batches (resuming a run); the batches that follow are unchanged */
  skip?: number;
}

export type Shape = [number, number, number, number];

export interface Batch {
  epoch: number;
  /** batch number within the epoch */
  step: number;
  /** LR images or LR crops: [N, 1, h, w] */
  lr: Float32Array;
  lrShape: Shape;
  /** 'pairs' mode: the matching HR crops, [N, 1, 4h, 4w] */
  hr?: Float32Array;
  hrShape?: Shape;
  labels: Int32Array;
  /** cache indices of the images in this batch */
  indices: Int32Array;
}

const cropStream = 0xc209;
const shuffleStream = 0x5400;

/** uint8 -> [-1, 1], written into `target` at `offset`; copies a (side x side) window at (x, y) of a plane of width `width`. */
function toUnitRange(plane: Uint8Array, width: number, x: number, y: number, side: number, target: Float32Array, offset: number): void {
  for (let row = 0; row < side; row++) {
    const start = (y + row) * width + x;
    const out = offset + row * side;
    for (let column = 0; column < side; column++) target[out + column] = plane[start + column]! / 127.5 - 1;
  }
}

interface BatchPlan {
  epoch: number;
  step: number;
  indices: number[];
}

function* planBatches(cache: ImageCache, options: BatchOptions): Generator<BatchPlan> {
  const { batchSize } = options;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new UsageError(`batch size must be a positive integer, got ${batchSize}`);
  const pool = cache.indicesOf(options.split ?? 'train');
  if (pool.length === 0) throw new UsageError(`the cache has no images in split '${options.split ?? 'train'}'`);
  const epochs = options.epochs ?? 1;
  let toSkip = options.skip ?? 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = options.shuffle === false ? pool : shuffled(pool, options.seed ?? 0, shuffleStream + epoch);
    for (let start = 0, step = 0; start < order.length; start += batchSize, step++) {
      const indices = order.slice(start, start + batchSize);
      if (indices.length < batchSize && options.dropLast) break;
      if (toSkip > 0) {
        toSkip--;
        continue;
      }
      yield { epoch, step, indices };
    }
  }
}

/** Where each image's crop goes: LR offsets in [0, lrSize - lrCrop]; HR offsets are 4x those. */
function cropOffsets(cache: ImageCache, options: BatchOptions, plan: BatchPlan, position: number, lrCrop: number): [number, number] {
  const room = cache.lrSize - lrCrop + 1;
  const key = hashKeys(options.seed ?? 0, cropStream, plan.epoch, plan.step);
  return [hashKeys(key, position, 0) % room, hashKeys(key, position, 1) % room];
}

function cropSizes(cache: ImageCache, options: BatchOptions): { scale: number; lrCrop: number; hrCrop: number } {
  const scale = cache.hrSize / cache.lrSize;
  const hrCrop = options.hrCrop === 0 ? cache.hrSize : (options.hrCrop ?? 96);
  if (hrCrop % scale !== 0 || hrCrop > cache.hrSize || hrCrop <= 0) throw new UsageError(`HR crop ${hrCrop} must be a positive multiple of ${scale} up to ${cache.hrSize}`);
  return { scale, lrCrop: hrCrop / scale, hrCrop };
}

/** Assembles one batch from its plan; `hrPlanes` holds the HR plane of each image in 'pairs' mode. */
function assemble(cache: ImageCache, options: BatchOptions, plan: BatchPlan, hrPlanes: Uint8Array[]): Batch {
  const count = plan.indices.length;
  const labels = Int32Array.from(plan.indices, (index) => cache.label(index));
  const indices = Int32Array.from(plan.indices);
  if ((options.mode ?? 'lr') === 'lr') {
    const side = cache.lrSize;
    const lr = new Float32Array(count * side * side);
    plan.indices.forEach((index, position) => toUnitRange(cache.lr(index), side, 0, 0, side, lr, position * side * side));
    return { epoch: plan.epoch, step: plan.step, lr, lrShape: [count, 1, side, side], labels, indices };
  }
  const { scale, lrCrop, hrCrop } = cropSizes(cache, options);
  const lr = new Float32Array(count * lrCrop * lrCrop);
  const hr = new Float32Array(count * hrCrop * hrCrop);
  plan.indices.forEach((index, position) => {
    const [x, y] = cropOffsets(cache, options, plan, position, lrCrop);
    toUnitRange(cache.lr(index), cache.lrSize, x, y, lrCrop, lr, position * lrCrop * lrCrop);
    toUnitRange(hrPlanes[position]!, cache.hrSize, x * scale, y * scale, hrCrop, hr, position * hrCrop * hrCrop);
  });
  return { epoch: plan.epoch, step: plan.step, lr, lrShape: [count, 1, lrCrop, lrCrop], hr, hrShape: [count, 1, hrCrop, hrCrop], labels, indices };
}

function needsHr(options: BatchOptions): boolean {
  return options.mode === 'pairs';
}

/** Batches one after another on the calling thread (simple; tests and evaluation). */
export function* iterateBatches(cache: ImageCache, options: BatchOptions): Generator<Batch> {
  for (const plan of planBatches(cache, options)) {
    yield assemble(cache, options, plan, needsHr(options) ? plan.indices.map((index) => cache.hr(index)) : []);
  }
}

/**
 * The same batches as iterateBatches, but `prefetch` batches ahead: HR planes are read off the main
 * thread while the consumer works on the current batch, so it does not wait on disk.
 */
export async function* prefetchBatches(cache: ImageCache, options: BatchOptions): AsyncGenerator<Batch> {
  const depth = Math.max(1, options.prefetch ?? 2);
  const plans = planBatches(cache, options);
  const queue: Array<Promise<Batch>> = [];
  const fill = (): void => {
    while (queue.length < depth) {
      const next = plans.next();
      if (next.done) return;
      const plan = next.value;
      const pending = Promise.all(needsHr(options) ? plan.indices.map((index) => cache.hrAsync(index)) : []).then((planes) => assemble(cache, options, plan, planes));
      // a failure is reported when its batch is awaited, not as an unhandled rejection before
      pending.catch(() => undefined);
      queue.push(pending);
    }
  };
  fill();
  while (queue.length > 0) {
    const batch = await queue.shift()!;
    fill();
    yield batch;
  }
}
