// Resolves what a training run trains on and with: the data (a raw ChestX-ray8 folder, a prepared
// cache, or the built-in phantom), the model config preset, and the trainer for a given engine.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine, SavedActivationStorage } from '../../engine/runtime.ts';
import type { AdapterKind } from '../../engine/device.ts';
import { UsageError, BadInputFileError } from '../../engine/errors.ts';
import { cganConfigs, type CganConfig } from '../../models/cgan.ts';
import { srganConfigs, type SrganConfig } from '../../models/srgan.ts';
import { openCache, manifestFileName, type ImageCache } from '../data/cache.ts';
import { prepareCache } from '../data/prepare.ts';
import { writePhantomDataset } from '../phantom/dataset.ts';
import { CganTrainer } from './cgan-trainer.ts';
import { SrganTrainer } from './srgan-trainer.ts';
import type { GanTrainer } from './trainer.ts';

export interface TrainOptions {
  model: 'cgan' | 'srgan';
  data: string;
  out: string;
  config: string;
  epochs?: number;
  steps?: number;
  batch?: number;
  lr?: number;
  /** Step from which the learning rates decay linearly to zero at the last step (absent: constant). */
  lrDecayStart?: number;
  seed: number;
  vramBytes: number;
  resume: boolean;
  sampleEvery: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  dryRun: boolean;
  /** SRGAN: whole 512/128 pairs instead of 96/24 crops. */
  fullImage: boolean;
  /** SRGAN: MSE-only steps before the adversarial phase (default: a quarter of the run). */
  pretrainSteps?: number;
  /** SRGAN: images per forward/backward pass (gradient accumulation); default: the whole batch, or what fits. */
  microBatch?: number;
  /** CGAN: decay of the generator weight average (0 or absent: none). */
  ema?: number;
  /** CGAN: weight of D's loss on real images with wrong labels (0 or absent: none). */
  mismatch?: number;
  /** Images of the phantom set made for `--data phantom`. */
  phantomCount: number;
  /** The adapter kind memory plans are made for (it sizes weight-gradient chunks); default: this machine's. */
  plannedFor?: AdapterKind;
  /** The storage binding limit memory plans assume; default: this machine's adapter's when planning for it, else WebGPU's default (128 MiB). */
  plannedBindingBytes?: number;
  /** Conv autotuning: the tuning file to read and extend (pipeline/conv-tuning-file.ts). */
  autotune?: string;
  /** How the tape keeps activations for backward ('f16': half the bytes; default 'f32'). */
  savedActivations?: SavedActivationStorage;
  /** Rebuild in backward the activations that BatchNorm's kept input can make again, instead of keeping them. */
  recomputeActivations?: boolean;
  log: (line: string) => void;
  plain?: boolean;
}

export const defaults = {
  cgan: { batch: 64, lr: 2e-4, betas: [0.5, 0.999] as [number, number] },
  srgan: { batch: 16, lr: 1e-4, betas: [0.9, 0.999] as [number, number] },
};

export function modelConfig(options: Pick<TrainOptions, 'model' | 'config'>): CganConfig | SrganConfig {
  const presets: Record<string, CganConfig | SrganConfig> = options.model === 'cgan' ? cganConfigs : srganConfigs;
  const config = presets[options.config];
  if (!config) throw new UsageError(`--config must be one of ${Object.keys(presets).join(', ')}, got '${options.config}'`);
  return config;
}

/** Opens (preparing first if needed) the cache the run trains on. */
export async function resolveData(options: TrainOptions): Promise<ImageCache> {
  let source = options.data;
  if (source === 'phantom') {
    source = join(options.out, 'phantom-data');
    if (!existsSync(join(source, 'Data_Entry_2017.csv'))) {
      options.log(`generating the built-in phantom data set (${options.phantomCount} images) in ${source}`);
      await writePhantomDataset({ outDir: source, count: options.phantomCount, seed: options.seed, plainProgress: options.plain, log: options.log });
    }
  }
  if (existsSync(join(source, manifestFileName))) return openCache(source);
  if (!existsSync(source)) throw new BadInputFileError(source, 'data directory not found');
  if (!existsSync(join(source, 'Data_Entry_2017.csv'))) throw new BadInputFileError(source, 'neither a prepared cache (manifest.json) nor a ChestX-ray8 folder (Data_Entry_2017.csv)');
  const cacheDir = join(options.out, 'cache');
  options.log(`preparing ${source} into ${cacheDir}`);
  await prepareCache({ dataDir: source, outDir: cacheDir, plainProgress: options.plain, log: options.log });
  return openCache(cacheDir);
}

/** SRGAN sample inputs: the first few held-out images (or zeros in a dry run). */
function srSamples(cache: ImageCache | null, hrCrop: number) {
  const count = 3;
  const lrSize = hrCrop === 0 ? 128 : hrCrop / 4;
  const hrSize = lrSize * 4;
  const lr = new Float32Array(count * lrSize * lrSize);
  const hr = new Float32Array(count * hrSize * hrSize);
  if (cache) {
    const pool = [...cache.indicesOf('val'), ...cache.indicesOf('test'), ...cache.indicesOf('train')].slice(0, count);
    pool.forEach((index, k) => {
      // A centred crop: the lungs, not the corner.
      const lrOffset = Math.floor((cache.lrSize - lrSize) / 2);
      const lrPlane = cache.lr(index);
      const hrPlane = cache.hr(index);
      for (let y = 0; y < lrSize; y++) for (let x = 0; x < lrSize; x++) lr[k * lrSize * lrSize + y * lrSize + x] = lrPlane[(y + lrOffset) * cache.lrSize + x + lrOffset] / 127.5 - 1;
      for (let y = 0; y < hrSize; y++) for (let x = 0; x < hrSize; x++) hr[k * hrSize * hrSize + y * hrSize + x] = hrPlane[(y + 4 * lrOffset) * cache.hrSize + x + 4 * lrOffset] / 127.5 - 1;
    });
  }
  return { lr, hr, count, lrSize };
}

export function hrCropOf(options: Pick<TrainOptions, 'fullImage'>): number {
  return options.fullImage ? 0 : 96;
}

export function createTrainer(engine: Engine, options: TrainOptions, cache: ImageCache | null, totalSteps: number): GanTrainer {
  const base = defaults[options.model];
  // Set here, where every training run, memory plan and profile makes its trainer.
  engine.savedActivations = options.savedActivations ?? 'f32';
  engine.recomputeActivations = options.recomputeActivations ?? false;
  if (options.model === 'cgan') {
    return new CganTrainer(engine, { config: modelConfig(options) as CganConfig, seed: options.seed, lr: options.lr ?? base.lr, betas: base.betas, ema: options.ema ?? 0, mismatch: options.mismatch ?? 0 });
  }
  const hrCrop = hrCropOf(options);
  return new SrganTrainer(engine, {
    config: modelConfig(options) as SrganConfig,
    seed: options.seed,
    lr: options.lr ?? base.lr,
    betas: base.betas,
    pretrainSteps: options.pretrainSteps ?? Math.floor(totalSteps / 4),
    adversarialWeight: 1e-3,
    hrCrop,
    microBatch: options.microBatch,
    samples: srSamples(cache, hrCrop),
  });
}
