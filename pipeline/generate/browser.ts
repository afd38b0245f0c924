// The embedding API for web pages: fetch weights, parse them with the same safetensors reader as
// Node, run the same generation core on the page's WebGPU device, hand back 8-bit grey pixels and
// D scores. Browser-safe (no Node imports); WGSL must be registered first (the web bundle does it).
//
//   const gen = await createGenerator({ weightsUrl, srWeightsUrl });
//   const { images } = await gen.generate({ label: 'mass', count: 4, seed: 1, threshold: 0.9, sr: true });
//   gen.dispose();

import { Engine } from '../../engine/runtime.ts';
import type { DeviceOptions } from '../../engine/device.ts';
import { BadInputFileError, UsageError } from '../../engine/errors.ts';
import { parseSafetensors } from '../../engine/io/safetensors.ts';
import type { PoolStats } from '../../engine/memory.ts';
import { enableConvAutotune, exportConvTuning, tuneConvolutions, type ConvTuningTable } from '../../engine/ops/conv-autotune.ts';
import { CganDiscriminator, CganGenerator, cganConfigs, discriminatorSpecs, generatorSpecs, type CganConfig } from '../../models/cgan.ts';
import { SrGenerator, srganConfigs, srGeneratorSpecs, type SrganConfig } from '../../models/srgan.ts';
import { cliLabelNames, findingNames, labelFromCliName, type LabelId } from '../data/labels.ts';
import { quantize } from '../train/images.ts';
import { generateImages, MAX_INDEX, MAX_TRIES_LIMIT, type ClassStats } from './sample.ts';
import { configFor, type ParsedWeights } from './weights-config.ts';

export interface CreateGeneratorOptions {
  /** CGAN weights (generator + discriminator), a .safetensors URL. */
  weightsUrl: string | URL;
  /** SRGAN generator weights; without them `sr: true` is an error. */
  srWeightsUrl?: string | URL | null;
  /** Options for the WebGPU device the generator opens for itself. */
  device?: DeviceOptions;
  /** GPU memory budget for tensors, in bytes. */
  maxBytes?: number;
  /** Conv kernel choices per shape from an earlier `tune()` on this adapter (e.g. kept in localStorage or shipped as JSON). */
  convTuning?: ConvTuningTable;
}

export interface BrowserGenerateRequest {
  /** CLI name ('no-finding', 'mass', 'pneumonia') or label id. */
  label: string | number;
  count: number;
  seed: number;
  /** Keep images with sigmoid(D(x, y)) >= threshold; default 0.9 as in the paper. */
  threshold?: number;
  /** Upsample kept images to 512 px with the SRGAN; default: when SR weights were given. */
  sr?: boolean;
  maxTries?: number;
  batch?: number;
  /** Image index of the first image: index i draws the same z as image i of `xraygen generate`. */
  firstIndex?: number;
}

export interface BrowserImage {
  index: number;
  label: number;
  className: string;
  findingName: string;
  attempt: number;
  dScore: number;
  dLogit: number;
  /** Width and height in pixels. */
  size: number;
  /** Grey levels 0..255, row-major, quantised exactly like the CLI's PNGs. */
  pixels: Uint8ClampedArray;
}

export interface BrowserGeneration {
  images: BrowserImage[];
  rejected: number[];
  stats: ClassStats[];
  seconds: number;
}

export interface XrayGenerator {
  readonly adapter: string;
  readonly cganConfig: CganConfig;
  readonly srConfig: SrganConfig | null;
  /** Seconds from the call to createGenerator until the weights were on the GPU. */
  readonly loadSeconds: number;
  generate(request: BrowserGenerateRequest): Promise<BrowserGeneration>;
  /**
   * Times the conv kernel variants of the shapes generate() has met that have no choice yet, keeps the
   * fastest for later calls, and returns the whole table, to pass back as `convTuning` next time.
   */
  tune(): Promise<ConvTuningTable>;
  /** The engine's buffer pool: bytes live in tensors and held for reuse. */
  memory(): PoolStats;
  /**
   * Frees every GPU buffer and the device; the generator is unusable afterwards. Returns the pool
   * as it stood once the models were freed, before the device went: any byte there is a leak.
   */
  dispose(): PoolStats;
}

async function fetchWeights(url: string | URL): Promise<ParsedWeights> {
  const path = String(url);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new BadInputFileError(path, `cannot fetch (${(error as Error).message})`);
  }
  if (!response.ok) throw new BadInputFileError(path, `HTTP ${response.status} ${response.statusText}`.trim());
  return { path, file: parseSafetensors(new Uint8Array(await response.arrayBuffer()), path) };
}

function labelOf(label: string | number): LabelId {
  if (typeof label === 'number') {
    if (!(label in findingNames) || !Number.isInteger(label)) throw new UsageError(`label must be 0, 1 or 2, got ${label}`);
    return label as LabelId;
  }
  return labelFromCliName(label);
}

function checkRequest(request: BrowserGenerateRequest, threshold: number, maxTries: number, batch: number, firstIndex: number): void {
  if (!(threshold >= 0 && threshold <= 1)) throw new UsageError(`threshold must be in [0, 1], got ${threshold}`);
  if (!(Number.isInteger(request.count) && request.count >= 1)) throw new UsageError(`count must be an integer >= 1, got ${request.count}`);
  if (!(Number.isInteger(firstIndex) && firstIndex >= 0 && firstIndex + request.count <= MAX_INDEX)) throw new UsageError(`firstIndex must be an integer in 0..${MAX_INDEX - request.count}`);
  if (!(Number.isInteger(maxTries) && maxTries >= 1 && maxTries <= MAX_TRIES_LIMIT)) throw new UsageError(`maxTries must be an integer in 1..${MAX_TRIES_LIMIT}`);
  if (!(Number.isInteger(batch) && batch >= 1)) throw new UsageError(`batch must be an integer >= 1, got ${batch}`);
  if (!Number.isInteger(request.seed)) throw new UsageError(`seed must be an integer, got ${request.seed}`);
}

export async function createGenerator(options: CreateGeneratorOptions): Promise<XrayGenerator> {
  const began = performance.now();
  const [weights, srWeights] = await Promise.all([fetchWeights(options.weightsUrl), options.srWeightsUrl ? fetchWeights(options.srWeightsUrl) : null]);
  const cganConfig = configFor<CganConfig>(weights, cganConfigs, generatorSpecs, 'generator', 'CGAN generator');
  configFor<CganConfig>(weights, { found: cganConfig }, discriminatorSpecs, 'discriminator', 'CGAN discriminator');
  const srConfig = srWeights ? configFor<SrganConfig>(srWeights, srganConfigs, srGeneratorSpecs, 'generator', 'SRGAN generator') : null;

  const engine = await Engine.create({ ...options.device, maxBytes: options.maxBytes });
  // Shapes without a recorded choice run the fixed default until tune() is called.
  enableConvAutotune(engine, options.convTuning ?? {});
  const generator = new CganGenerator(engine, cganConfig);
  const discriminator = new CganDiscriminator(engine, cganConfig);
  const srGenerator = srConfig ? new SrGenerator(engine, srConfig) : null;
  const modules = [generator, discriminator, srGenerator];
  let disposed = false;
  let afterDispose: PoolStats | null = null;
  try {
    generator.loadStateDict(weights.file);
    discriminator.loadStateDict(weights.file);
    srGenerator?.loadStateDict(srWeights!.file);
    await engine.sync();
  } catch (error) {
    for (const module of modules) module?.dispose();
    engine.destroy();
    throw error;
  }
  const loadSeconds = (performance.now() - began) / 1000;

  return {
    adapter: engine.describe(),
    cganConfig,
    srConfig,
    loadSeconds,
    async generate(request) {
      if (disposed) throw new UsageError('generator was disposed');
      const threshold = request.threshold ?? 0.9;
      const maxTries = request.maxTries ?? 20;
      const batch = request.batch ?? 16;
      const firstIndex = request.firstIndex ?? 0;
      const sr = request.sr ?? srGenerator !== null;
      checkRequest(request, threshold, maxTries, batch, firstIndex);
      if (sr && !srGenerator) throw new UsageError('sr needs srWeightsUrl');
      const label = labelOf(request.label);
      const started = performance.now();
      const items = Array.from({ length: request.count }, (_, k) => ({ index: firstIndex + k, label }));
      const result = await generateImages(engine, { generator, discriminator, srGenerator: sr ? srGenerator : null }, {
        items, seed: request.seed, threshold, maxTries, batch, sr,
      });
      const images = result.images.map((image): BrowserImage => {
        const values = image.image512 ?? image.image128;
        const pixels = new Uint8ClampedArray(values.length);
        for (let i = 0; i < values.length; i++) pixels[i] = quantize(values[i]);
        return {
          index: image.index, label: image.label, className: cliLabelNames[image.label as LabelId], findingName: findingNames[image.label as LabelId],
          attempt: image.attempt, dScore: image.dScore, dLogit: image.dLogit, size: Math.round(Math.sqrt(values.length)), pixels,
        };
      });
      return { images, rejected: result.rejected.map((item) => item.index), stats: result.stats, seconds: (performance.now() - started) / 1000 };
    },
    async tune() {
      if (disposed) throw new UsageError('generator was disposed');
      await tuneConvolutions(engine);
      return exportConvTuning(engine);
    },
    memory: () => engine.memory(),
    dispose() {
      if (!disposed) {
        disposed = true;
        for (const module of modules) module?.dispose();
        // Pooled (freed) buffers are GPU memory too: destroy them so the pool reads zero.
        engine.pool.trim();
        afterDispose = engine.memory();
        engine.destroy();
      }
      return afterDispose!;
    },
  };
}

/** RGBA ImageData of a grey image, for a canvas. */
export function toImageData(image: Pick<BrowserImage, 'size' | 'pixels'>): ImageData {
  const rgba = new Uint8ClampedArray(image.size * image.size * 4);
  for (let i = 0; i < image.pixels.length; i++) {
    rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = image.pixels[i];
    rgba[4 * i + 3] = 255;
  }
  return new ImageData(rgba, image.size, image.size);
}

/** A PNG of the image, encoded by the browser's canvas. */
export async function toPngBlob(image: Pick<BrowserImage, 'size' | 'pixels'>): Promise<Blob> {
  const canvas = new OffscreenCanvas(image.size, image.size);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('no 2d canvas context');
  context.putImageData(toImageData(image), 0, 0);
  return canvas.convertToBlob({ type: 'image/png' });
}
