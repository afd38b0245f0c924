// `xraygen evaluate` as a library call: generate N images per class with the CGAN (no threshold, so
// the filter's acceptance can be measured), score them and the real held-out images with the
// evaluation classifier and the discriminator, measure SRGAN against plain upscaling, and write
// OUT/evaluation.json, OUT/report.html and per-class sample grids. Deterministic for a seed.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../engine/runtime.ts';
import { UsageError } from '../../engine/errors.ts';
import { noGrad } from '../../engine/autograd.ts';
import { sigmoid } from '../../engine/ops/elementwise.ts';
import { CganDiscriminator, CganGenerator, cganConfigs, discriminatorSpecs, generatorSpecs, type CganConfig } from '../../models/cgan.ts';
import { SrGenerator, srganConfigs, srGeneratorSpecs, type SrganConfig } from '../../models/srgan.ts';
import { openCache } from '../data/cache.ts';
import { cliLabelNames } from '../data/labels.ts';
import { writeGreyPng } from '../data/png.ts';
import { generateImages } from '../generate/sample.ts';
import { configFor, DEFAULT_SRGAN_WEIGHTS, readWeights } from '../generate/weights.ts';
import { gridFromBatch } from '../train/images.ts';
import { accuracy, cacheImages, classify, heldOutIndices, loadClassifier, type Accuracy, type ImageSet } from './classify.ts';
import { discriminatorScores, featureScores, type DiscriminatorScores, type FeatureScores } from './scores.ts';
import { evaluateSuperResolution, type SuperResolutionScores } from './super-resolution.ts';
import { classifierDefaults, trainClassifier } from './train-classifier.ts';
import { writeEvaluationReport } from './report.ts';

export interface EvaluateOptions {
  /** CGAN run folder or .safetensors file */
  weights: string;
  /** prepared cache */
  data: string;
  /** classifier run folder or file; without one, a classifier is trained into OUT/classifier */
  classifier?: string;
  /** SRGAN weights; default the shipped file when present; null skips SRGAN (baselines still run) */
  srWeights?: string | null;
  /** generated images per class */
  count: number;
  /** held-out pairs for the super-resolution comparison */
  srCount: number;
  seed: number;
  batch: number;
  out: string;
  log: (line: string) => void;
  plain?: boolean;
}

export const EVALUATION_FORMAT = 'xraygen-evaluation-1';
const GRID_COLUMNS = 8;

export interface Evaluation {
  format: typeof EVALUATION_FORMAT;
  seed: number;
  classes: readonly string[];
  weights: { path: string; sha256: string };
  classifier: { path: string; sha256: string; trainedHere: boolean };
  srWeights: { path: string; sha256: string } | null;
  data: { cache: string; heldOut: number; generatedPerClass: number };
  accuracy: { generated: Accuracy; realHeldOut: Accuracy };
  frechet: FeatureScores & { featureSize: number };
  discriminator: { generated: DiscriminatorScores; realHeldOut: DiscriminatorScores };
  superResolution: SuperResolutionScores;
  /** file names of the per-class grids (generated row above real row), relative to OUT */
  grids: string[];
}

function validate(options: EvaluateOptions): void {
  if (!(Number.isInteger(options.count) && options.count >= 2)) throw new UsageError(`--count must be an integer >= 2, got ${options.count}`);
  if (!(Number.isInteger(options.srCount) && options.srCount >= 0)) throw new UsageError(`--sr-count must be an integer >= 0, got ${options.srCount}`);
  if (!(Number.isInteger(options.batch) && options.batch >= 1)) throw new UsageError('--batch must be an integer >= 1');
}

/** D's sigmoid scores of real images with their true labels, eval mode. */
async function realScores(engine: Engine, discriminator: CganDiscriminator, images: ImageSet, batch: number): Promise<Float32Array> {
  const scores = new Float32Array(images.count);
  const area = images.side * images.side;
  for (let start = 0; start < images.count; start += batch) {
    const n = Math.min(batch, images.count - start);
    const output = engine.tidy(() => noGrad(engine, () => {
      const input = engine.fromArray(images.pixels.subarray(start * area, (start + n) * area), [n, 1, images.side, images.side], 'f32', 'real');
      const labels = engine.fromArray(images.labels.subarray(start, start + n), [n], 'i32', 'labels');
      return sigmoid(discriminator.forward(input, labels, false));
    }));
    const [values] = await engine.read([output]);
    output.dispose();
    scores.set(values, start);
  }
  return scores;
}

/** Per class: up to GRID_COLUMNS generated images above as many real ones (black where short). */
function writeGrids(out: string, generated: ImageSet, real: ImageSet): string[] {
  const area = generated.side * generated.side;
  return cliLabelNames.map((name, label) => {
    const pixels = new Float32Array(2 * GRID_COLUMNS * area).fill(-1);
    [generated, real].forEach((set, row) => {
      let column = 0;
      for (let i = 0; i < set.count && column < GRID_COLUMNS; i++) {
        if (set.labels[i] !== label) continue;
        pixels.set(set.pixels.subarray(i * area, (i + 1) * area), (row * GRID_COLUMNS + column++) * area);
      }
    });
    const file = `grid-${name}.png`;
    writeGreyPng(join(out, file), gridFromBatch(pixels, generated.side, 2, GRID_COLUMNS));
    return file;
  });
}

async function resolveClassifier(options: EvaluateOptions): Promise<{ path: string; trainedHere: boolean }> {
  if (options.classifier) return { path: options.classifier, trainedHere: false };
  const out = join(options.out, 'classifier');
  options.log(`no --classifier given: training one into ${out}`);
  const result = await trainClassifier({ ...classifierDefaults, data: options.data, out, seed: options.seed, log: options.log, plain: options.plain });
  options.log(`classifier held-out accuracy ${(100 * result.heldOut.overall).toFixed(1)}%`);
  return { path: result.weights, trainedHere: true };
}

export async function runEvaluate(options: EvaluateOptions): Promise<Evaluation> {
  validate(options);
  const weights = readWeights(options.weights);
  const cganConfig = configFor<CganConfig>(weights, cganConfigs, generatorSpecs, 'generator', 'CGAN generator');
  configFor<CganConfig>(weights, { found: cganConfig }, discriminatorSpecs, 'discriminator', 'CGAN discriminator');
  const srPath = options.srWeights === undefined ? (existsSync(DEFAULT_SRGAN_WEIGHTS) ? DEFAULT_SRGAN_WEIGHTS : null) : options.srWeights;
  const srWeights = srPath ? readWeights(srPath) : null;
  const srConfig = srWeights ? configFor<SrganConfig>(srWeights, srganConfigs, srGeneratorSpecs, 'generator', 'SRGAN generator') : null;
  const cache = openCache(options.data);
  const heldOut = heldOutIndices(cache);
  if (heldOut.length < 2) throw new UsageError(`${options.data} has ${heldOut.length} held-out (val + test) image(s); evaluation needs at least 2`);
  mkdirSync(options.out, { recursive: true });
  const classifierSource = await resolveClassifier(options);

  const engine = await Engine.create({ seed: options.seed });
  const generator = new CganGenerator(engine, cganConfig);
  const discriminator = new CganDiscriminator(engine, cganConfig);
  generator.loadStateDict(weights.file);
  discriminator.loadStateDict(weights.file);
  const { classifier, sha256: classifierSha } = loadClassifier(engine, classifierSource.path);
  const srGenerator = srConfig ? new SrGenerator(engine, srConfig) : null;
  srGenerator?.loadStateDict(srWeights!.file);
  const numClasses = cliLabelNames.length;

  options.log(`generating ${options.count} image(s) per class`);
  const items = Array.from({ length: numClasses * options.count }, (_, index) => ({ index, label: Math.floor(index / options.count) }));
  const result = await generateImages(engine, { generator, discriminator, srGenerator: null }, { items, seed: options.seed, threshold: 0, maxTries: 1, batch: options.batch, sr: false });
  const side = Math.round(Math.sqrt(result.images[0].image128.length));
  const generated: ImageSet = { pixels: new Float32Array(result.images.length * side * side), labels: Int32Array.from(result.images, (image) => image.label), side, count: result.images.length };
  result.images.forEach((image, i) => generated.pixels.set(image.image128, i * side * side));
  const real = cacheImages(cache, heldOut);

  options.log(`scoring ${generated.count} generated and ${real.count} real held-out image(s)`);
  const generatedClassified = await classify(engine, classifier, generated, options.batch);
  const realClassified = await classify(engine, classifier, real, options.batch);
  const realD = await realScores(engine, discriminator, real, options.batch);
  options.log(`super-resolution on ${Math.min(options.srCount, heldOut.length)} held-out pair(s)${srGenerator ? '' : ' (no SRGAN weights: baselines only)'}`);
  const superResolution = await evaluateSuperResolution(engine, srGenerator, cache, heldOut.slice(0, options.srCount));

  const featureSize = generatedClassified.featureSize;
  const evaluation: Evaluation = {
    format: EVALUATION_FORMAT,
    seed: options.seed,
    classes: cliLabelNames,
    weights: { path: weights.path, sha256: weights.sha256 },
    classifier: { path: classifierSource.path, sha256: classifierSha, trainedHere: classifierSource.trainedHere },
    srWeights: srWeights ? { path: srWeights.path, sha256: srWeights.sha256 } : null,
    data: { cache: options.data, heldOut: real.count, generatedPerClass: options.count },
    accuracy: {
      generated: accuracy(generatedClassified.predictions, generated.labels, numClasses),
      realHeldOut: accuracy(realClassified.predictions, real.labels, numClasses),
    },
    frechet: {
      ...featureScores({ features: generatedClassified.features, labels: generated.labels, dim: featureSize }, { features: realClassified.features, labels: real.labels, dim: featureSize }, numClasses),
      featureSize,
    },
    discriminator: {
      generated: discriminatorScores(result.images.map((image) => image.dScore), generated.labels, numClasses),
      realHeldOut: discriminatorScores(realD, real.labels, numClasses),
    },
    superResolution,
    grids: writeGrids(options.out, generated, real),
  };
  for (const module of [generator, discriminator, classifier, srGenerator]) module?.dispose();
  engine.destroy();
  cache.close();
  writeFileSync(join(options.out, 'evaluation.json'), `${JSON.stringify(evaluation, null, 2)}\n`);
  writeEvaluationReport(join(options.out, 'report.html'), evaluation);
  return evaluation;
}
