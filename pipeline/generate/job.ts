// A whole `generate` job as a library call: resolve weights and configs, plan the (sharded) image
// indices, run the generation core on the GPU and write the ChestX-ray8-layout output.

import { Engine } from '../../engine/runtime.ts';
import { UsageError } from '../../engine/errors.ts';
import { CganDiscriminator, CganGenerator, cganConfigs, discriminatorSpecs, generatorSpecs, type CganConfig } from '../../models/cgan.ts';
import { SrGenerator, srganConfigs, srGeneratorSpecs, type SrganConfig } from '../../models/srgan.ts';
import { cliLabelNames, labelFromCliName } from '../data/labels.ts';
import { generateImages, MAX_INDEX, MAX_TRIES_LIMIT, type ClassStats } from './sample.ts';
import { configFor, DEFAULT_CGAN_WEIGHTS, DEFAULT_SRGAN_WEIGHTS, readWeights } from './weights.ts';
import { prepareOutputDir, writeGeneration } from './write.ts';

export interface GenerateOptions {
  weights?: string;
  srWeights?: string;
  className: string;
  count: number;
  threshold: number;
  maxTries: number;
  sr: boolean;
  seed: number;
  batch: number;
  out: string;
  saveTensors?: string;
  shard?: string;
}

export interface GenerateSummary {
  written: number;
  rejected: number;
  stats: ClassStats[];
  startupSeconds: number;
  generationSeconds: number;
  indexRange: [number, number];
}

/** `--shard i/n` -> the half-open range of image indices this shard makes. */
export function shardRange(count: number, shard: string | undefined): [number, number] {
  if (!shard) return [0, count];
  const match = /^(\d+)\/(\d+)$/.exec(shard);
  const [i, n] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!match || n < 1 || i >= n) throw new UsageError(`--shard must be i/n with 0 <= i < n, got '${shard}'`);
  return [Math.floor((count * i) / n), Math.floor((count * (i + 1)) / n)];
}

/** Image index -> class: one class for all, or round-robin over the three for 'all'. */
export function planLabels(className: string): (index: number) => number {
  if (className === 'all') return (index) => index % cliLabelNames.length;
  let label: number;
  try {
    label = labelFromCliName(className);
  } catch {
    throw new UsageError(`--class must be one of ${cliLabelNames.join(', ')}, all; got '${className}'`);
  }
  return () => label;
}

export function validateGenerateOptions(options: GenerateOptions): void {
  if (!(options.threshold >= 0 && options.threshold <= 1)) throw new UsageError(`--threshold must be in [0, 1], got ${options.threshold}`);
  if (!(Number.isInteger(options.maxTries) && options.maxTries >= 1 && options.maxTries <= MAX_TRIES_LIMIT)) throw new UsageError(`--max-tries must be an integer in 1..${MAX_TRIES_LIMIT}`);
  if (!(Number.isInteger(options.count) && options.count >= 1 && options.count <= MAX_INDEX)) throw new UsageError(`--count must be an integer >= 1`);
  if (!(Number.isInteger(options.batch) && options.batch >= 1)) throw new UsageError('--batch must be an integer >= 1');
  planLabels(options.className);
  shardRange(options.count, options.shard);
}

export async function runGenerate(options: GenerateOptions, log: (line: string) => void = () => {}): Promise<GenerateSummary> {
  validateGenerateOptions(options);
  const began = performance.now();
  const weights = readWeights(options.weights ?? DEFAULT_CGAN_WEIGHTS);
  const cganConfig = configFor<CganConfig>(weights, cganConfigs, generatorSpecs, 'generator', 'CGAN generator');
  configFor<CganConfig>(weights, { found: cganConfig }, discriminatorSpecs, 'discriminator', 'CGAN discriminator');
  const srWeights = options.sr ? readWeights(options.srWeights ?? DEFAULT_SRGAN_WEIGHTS) : null;
  const srConfig = srWeights ? configFor<SrganConfig>(srWeights, srganConfigs, srGeneratorSpecs, 'generator', 'SRGAN generator') : null;
  prepareOutputDir(options.out);

  const engine = await Engine.create({ seed: options.seed });
  const generator = new CganGenerator(engine, cganConfig);
  const discriminator = new CganDiscriminator(engine, cganConfig);
  generator.loadStateDict(weights.file);
  discriminator.loadStateDict(weights.file);
  const srGenerator = srConfig ? new SrGenerator(engine, srConfig) : null;
  srGenerator?.loadStateDict(srWeights!.file);
  await engine.sync();
  const startupSeconds = (performance.now() - began) / 1000;

  const [first, end] = shardRange(options.count, options.shard);
  const labelOf = planLabels(options.className);
  const items = Array.from({ length: end - first }, (_, k) => ({ index: first + k, label: labelOf(first + k) }));
  const generationBegan = performance.now();
  const result = await generateImages(engine, { generator, discriminator, srGenerator }, {
    items, seed: options.seed, threshold: options.threshold, maxTries: options.maxTries, batch: options.batch, sr: options.sr,
  });
  const generationSeconds = (performance.now() - generationBegan) / 1000;
  await writeGeneration(result.images, { out: options.out, seed: options.seed, weights, srWeights, saveTensors: options.saveTensors });
  for (const module of [generator, discriminator, srGenerator]) module?.dispose();
  engine.destroy();
  for (const stats of result.stats) {
    log(`${cliLabelNames[stats.label]}: kept ${stats.kept}/${stats.requested} (acceptance ${(100 * stats.kept / Math.max(1, stats.drawn)).toFixed(1)}% of ${stats.drawn} drawn)`);
  }
  if (result.rejected.length) log(`${result.rejected.length} image(s) not kept after ${options.maxTries} tries at threshold ${options.threshold}`);
  return { written: result.images.length, rejected: result.rejected.length, stats: result.stats, startupSeconds, generationSeconds, indexRange: [first, end] };
}
