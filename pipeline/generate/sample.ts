// The generation core, shared by the CLI and the browser (no Node imports): draw z on the GPU, run
// G in eval mode, keep images whose sigmoid(D(x, y)) reaches the "real threshold", redraw the rest
// in batches up to a tries limit, then upsample the kept ones with the SRGAN generator.
//
// Determinism and sharding: the z of image i at try t is a pure function of (seed, i, t) — its
// own Philox stream — so the same image index gives the same bytes however the job is batched or
// split into shards, and shards of one index range concatenate without duplicates.

import type { Engine } from '../../engine/runtime.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { noGrad } from '../../engine/autograd.ts';
import { sigmoid } from '../../engine/ops/elementwise.ts';
import { randomNormalRows } from '../../engine/ops/random.ts';
import type { CganGenerator, CganDiscriminator } from '../../models/cgan.ts';
import type { SrGenerator } from '../../models/srgan.ts';

export interface GenerationRequest {
  /** Image indices to produce (a shard's range), each with its class. */
  items: Array<{ index: number; label: number }>;
  seed: number;
  threshold: number;
  maxTries: number;
  batch: number;
  sr: boolean;
}

export interface GeneratedImage {
  index: number;
  label: number;
  /** The try whose image was kept (0-based). */
  attempt: number;
  z: Float32Array;
  dLogit: number;
  dScore: number;
  image128: Float32Array;
  image512: Float32Array | null;
}

export interface ClassStats {
  label: number;
  requested: number;
  kept: number;
  drawn: number;
}

export interface GenerationResult {
  images: GeneratedImage[];
  /** Indices given up on after maxTries. */
  rejected: Array<{ index: number; label: number }>;
  stats: ClassStats[];
}

export interface GenerationModels {
  generator: CganGenerator;
  discriminator: CganDiscriminator;
  srGenerator: SrGenerator | null;
}

/** The Philox stream of (image index, try): disjoint for every pair a job can ask for. */
export function latentStream(index: number, attempt: number): number {
  return (index * 64 + attempt) >>> 0;
}

export const MAX_TRIES_LIMIT = 64;
export const MAX_INDEX = Math.floor(0xffffffff / 64);

export async function generateImages(engine: Engine, models: GenerationModels, request: GenerationRequest): Promise<GenerationResult> {
  const zDim = models.generator.config.zDim;
  const labels = [...new Set(request.items.map((i) => i.label))].sort();
  const stats = new Map(labels.map((label) => [label, { label, requested: 0, kept: 0, drawn: 0 }]));
  for (const item of request.items) stats.get(item.label)!.requested++;
  const kept: GeneratedImage[] = [];
  let pending = [...request.items].sort((a, b) => a.index - b.index);

  for (let attempt = 0; attempt < request.maxTries && pending.length > 0; attempt++) {
    const stillPending: typeof pending = [];
    for (let start = 0; start < pending.length; start += request.batch) {
      const chunk = pending.slice(start, start + request.batch);
      const n = chunk.length;
      const outputs = engine.tidy(() => noGrad(engine, () => {
        const streams = engine.fromArray(chunk.map((item) => latentStream(item.index, attempt)), [n], 'u32', 'z.streams');
        const z = randomNormalRows(engine, streams, zDim, request.seed);
        const labelTensor = engine.fromArray(chunk.map((item) => item.label), [n], 'i32', 'labels');
        const images = models.generator.forward(z, labelTensor, false);
        const logits = models.discriminator.forward(images, labelTensor, false);
        return [z, images, logits, sigmoid(logits)];
      }));
      const [z, images, logits, scores] = await engine.read(outputs);
      for (const tensor of outputs) tensor.dispose();
      const size = images.length / n;
      chunk.forEach((item, row) => {
        const classStats = stats.get(item.label)!;
        classStats.drawn++;
        if (scores[row] >= request.threshold) {
          classStats.kept++;
          kept.push({
            index: item.index, label: item.label, attempt,
            z: (z as Float32Array).slice(row * zDim, (row + 1) * zDim),
            dLogit: logits[row], dScore: scores[row],
            image128: (images as Float32Array).slice(row * size, (row + 1) * size),
            image512: null,
          });
        } else {
          stillPending.push(item);
        }
      });
    }
    pending = stillPending;
  }

  kept.sort((a, b) => a.index - b.index);
  if (request.sr && models.srGenerator) await superResolve(engine, models.srGenerator, kept, srBatch(engine, models.srGenerator, kept, request.batch));
  return { images: kept, rejected: pending, stats: [...stats.values()] };
}

/** Images per SR pass: the widest activation (4C channels at half the output size) must fit one binding. */
function srBatch(engine: Engine, srGenerator: SrGenerator, images: GeneratedImage[], batch: number): number {
  if (images.length === 0) return batch;
  const lowSide = Math.round(Math.sqrt(images[0].image128.length));
  const highSide = lowSide * 2 ** srGenerator.config.upsampleBlocks;
  const widestBytes = 4 * srGenerator.config.channels * (highSide / 2) ** 2 * 4;
  return Math.max(1, Math.min(batch, Math.floor(engine.maxBindingBytes / widestBytes)));
}

/** Fills `image512` of every kept image with SRGAN(image128), in batches, eval mode. */
async function superResolve(engine: Engine, srGenerator: SrGenerator, images: GeneratedImage[], batch: number): Promise<void> {
  for (let start = 0; start < images.length; start += batch) {
    const chunk = images.slice(start, start + batch);
    const lowSize = Math.round(Math.sqrt(chunk[0].image128.length));
    const input = new Float32Array(chunk.length * lowSize * lowSize);
    chunk.forEach((image, row) => input.set(image.image128, row * lowSize * lowSize));
    const upscaled: Tensor = engine.tidy(() => noGrad(engine, () => srGenerator.forward(engine.fromArray(input, [chunk.length, 1, lowSize, lowSize], 'f32', 'sr.input'), false)));
    const [pixels] = await engine.read([upscaled]);
    upscaled.dispose();
    const highArea = pixels.length / chunk.length;
    chunk.forEach((image, row) => (image.image512 = (pixels as Float32Array).slice(row * highArea, (row + 1) * highArea)));
  }
}
