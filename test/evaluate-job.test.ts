// `train classifier` and `evaluate` end to end on a tiny phantom cache with tiny GAN weights: the
// classifier trains and reports held-out accuracy; evaluate writes JSON, HTML and grids, gives the
// same numbers for the same seed, works with or without SRGAN weights, and rejects bad input in one line.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTraining } from '../pipeline/train/loop.ts';
import type { TrainOptions } from '../pipeline/train/setup.ts';
import { trainClassifier } from '../pipeline/evaluate/train-classifier.ts';
import { runEvaluate, type EvaluateOptions, type Evaluation } from '../pipeline/evaluate/job.ts';
import { discriminatorScores, featureScores } from '../pipeline/evaluate/scores.ts';
import { augmentBatch } from '../pipeline/evaluate/augment.ts';
import { main } from '../pipeline/cli.ts';
import { phantomCache } from './helpers/phantom-cache.ts';

const root = mkdtempSync(join(tmpdir(), 'xraygen-evaluate-'));
let ready: Promise<{ cache: string; cgan: string; srgan: string; classifier: string }> | null = null;

function fixtures() {
  ready ??= (async () => {
    const cache = await phantomCache();
    const base = (model: 'cgan' | 'srgan'): TrainOptions => ({
      model, data: cache, out: join(root, model), config: 'tiny', steps: 2, batch: 4, seed: 1, vramBytes: 2 ** 30,
      resume: false, sampleEvery: 100, checkpointEvery: 100, keepCheckpoints: 1, dryRun: false, fullImage: false, pretrainSteps: 1,
      phantomCount: 0, log: () => {}, plain: true,
    });
    await runTraining(base('cgan'));
    await runTraining(base('srgan'));
    const classifier = join(root, 'classifier');
    await trainClassifier({ data: cache, out: classifier, config: 'tiny', epochs: 2, batch: 4, lr: 3e-3, seed: 2, log: () => {}, plain: true });
    return { cache, cgan: join(root, 'cgan'), srgan: join(root, 'srgan', 'weights.safetensors'), classifier };
  })();
  return ready;
}

async function options(out: string, overrides: Partial<EvaluateOptions> = {}): Promise<EvaluateOptions> {
  const f = await fixtures();
  return { weights: f.cgan, data: f.cache, classifier: f.classifier, srWeights: f.srgan, count: 4, srCount: 1, seed: 5, batch: 4, out: join(root, out), log: () => {}, ...overrides };
}

/** The numbers of an evaluation, without the paths that name its folder. */
const numbers = (e: Evaluation) => JSON.stringify({ ...e, classifier: e.classifier.sha256, weights: e.weights.sha256, srWeights: e.srWeights?.sha256 });

test('train classifier writes weights and reports held-out accuracy', async () => {
  const f = await fixtures();
  const accuracy = JSON.parse(readFileSync(join(f.classifier, 'accuracy.json'), 'utf8'));
  assert.ok(accuracy.heldOut.overall >= 0 && accuracy.heldOut.overall <= 1);
  assert.ok(accuracy.heldOutImages > 0);
  assert.ok(existsSync(join(f.classifier, 'weights.safetensors')));
  assert.ok(readFileSync(join(f.classifier, 'metrics.jsonl'), 'utf8').trim().split('\n').length >= 2);
  const again = join(root, 'classifier-again');
  await trainClassifier({ data: f.cache, out: again, config: 'tiny', epochs: 2, batch: 4, lr: 3e-3, seed: 2, log: () => {}, plain: true });
  assert.ok(readFileSync(join(again, 'weights.safetensors')).equals(readFileSync(join(f.classifier, 'weights.safetensors'))), 'same seed, same weights');
});

test('evaluate writes JSON, HTML and grids, and is deterministic for a seed', async () => {
  const first = await runEvaluate(await options('a'));
  const second = await runEvaluate(await options('b'));
  assert.is(numbers(first), numbers(second));
  const written = JSON.parse(readFileSync(join(root, 'a', 'evaluation.json'), 'utf8'));
  assert.is(written.format, 'xraygen-evaluation-1');
  assert.equal(written.accuracy.generated.counts, [4, 4, 4]);
  // Each requested class's row of the confusion matrix holds its images; the diagonal is the hits.
  const { confusion, perClass } = written.accuracy.generated;
  confusion.forEach((row: number[], k: number) => {
    assert.is(row.reduce((a, b) => a + b, 0), 4);
    assert.is(row[k] / 4, perClass[k]);
  });
  assert.is(written.frechet.perClass.length, 3);
  // A distance needs two images a side: with a tiny held-out set some per-class floors are NaN (null in JSON).
  for (const score of [...first.frechet.perClass, first.frechet.overall]) {
    assert.ok(score.realCount < 2 ? Number.isNaN(score.generated) : score.generated >= 0);
    assert.ok(score.realCount < 4 ? Number.isNaN(score.floor) : score.floor >= 0);
  }
  assert.ok(first.frechet.overall.floor >= 0);
  assert.is(first.discriminator.generated.histogram.reduce((a, b) => a + b, 0), 12);
  assert.ok(first.discriminator.generated.overall.acceptance05 >= first.discriminator.generated.overall.acceptance09);
  assert.equal(Object.keys(first.superResolution.mean).sort(), ['bicubic', 'nearest', 'srgan']);
  assert.ok(first.superResolution.mean.bicubic!.psnr > 20 && first.superResolution.mean.bicubic!.ssim > 0.5);
  const html = readFileSync(join(root, 'a', 'report.html'), 'utf8');
  assert.match(html, /new Chart\(/);
  assert.ok(html.length > 100_000, 'Chart.js is inlined');
  for (const grid of first.grids) assert.ok(existsSync(join(root, 'a', grid)), grid);
  const other = await runEvaluate(await options('c', { seed: 6, srWeights: null, srCount: 2 }));
  assert.not.equal(other.discriminator.generated.histogram.join(), '');
  assert.equal(Object.keys(other.superResolution.mean).sort(), ['bicubic', 'nearest']);
  assert.is(other.superResolution.pairs, 2);
});

test('scores: D histogram and acceptance, Fréchet floor and diversity on constructed features', () => {
  const d = discriminatorScores([0.02, 0.5, 0.95, 1, 0.2, 0.89], [0, 0, 1, 1, 2, 2], 3);
  assert.equal(d.perClass.map((s) => s.acceptance05), [0.5, 1, 0.5]);
  assert.equal(d.perClass.map((s) => s.acceptance09), [0, 1, 0]);
  assert.is(d.overall.median, (0.5 + 0.89) / 2);
  assert.is(d.histogram[0], 1);
  assert.is(d.histogram[19], 2);
  // Generated features collapsed onto one point: zero diversity, and a distance above the floor.
  const realFeatures = Float64Array.from({ length: 16 }, (_, i) => Math.sin(i * 1.7));
  const scores = featureScores({ features: new Float64Array(16).fill(3), labels: [0, 0, 0, 0, 1, 1, 1, 1], dim: 2 }, { features: realFeatures, labels: [0, 0, 0, 0, 1, 1, 1, 1], dim: 2 }, 2);
  assert.equal(scores.diversity.generated, [0, 0]);
  assert.ok(scores.diversity.real.every((v) => v > 0));
  assert.ok(scores.overall.generated > scores.overall.floor);
  assert.is(scores.perClass[0].realCount, 4);
});

test('augmentation is deterministic and only moves pixels', () => {
  const image = Float32Array.from({ length: 2 * 16 * 16 }, (_, i) => i);
  const a = image.slice();
  const b = image.slice();
  const shiftOnly = { maxShift: 2, noiseProbability: 0, maxNoise: 0 };
  augmentBatch(a, 2, 16, 3, 7, shiftOnly);
  augmentBatch(b, 2, 16, 3, 7, shiftOnly);
  assert.equal([...a], [...b]);
  assert.ok(a.every((v, i) => (i < 256 ? v < 256 : v >= 256)), 'pixels stay in their image');
});

test('augmentation noise is deterministic, reaches the images it is drawn for, and stays in [-1, 1]', () => {
  const image = Float32Array.from({ length: 8 * 16 * 16 }, (_, i) => Math.sin(i) * 0.95);
  const noisy = { maxShift: 0, noiseProbability: 1, maxNoise: 0.5 };
  const a = image.slice();
  const b = image.slice();
  augmentBatch(a, 8, 16, 3, 7, noisy);
  augmentBatch(b, 8, 16, 3, 7, noisy);
  assert.equal([...a], [...b]);
  assert.ok(a.every((v) => v >= -1 && v <= 1));
  const flippedOrNoisy = (n: number) => a.subarray(n * 256, (n + 1) * 256).some((v, i) => v !== image[n * 256 + i] && v !== image[n * 256 + (i - (i % 16)) + 15 - (i % 16)]);
  assert.ok([0, 1, 2, 3, 4, 5, 6, 7].filter(flippedOrNoisy).length >= 7, 'noise changes the images, not only their order');
});

async function cli(args: string[]): Promise<{ code: number; errors: string[]; lines: string[] }> {
  const errors: string[] = [];
  const lines: string[] = [];
  const [originalError, originalLog] = [console.error, console.log];
  console.error = (...parts: unknown[]) => errors.push(parts.join(' '));
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  try {
    return { code: await main(args), errors, lines };
  } finally {
    console.error = originalError;
    console.log = originalLog;
  }
}

test('CLI: train classifier and evaluate run; bad input is one line and exit code 2', async () => {
  const f = await fixtures();
  const trained = await cli(['train', 'classifier', '--data', f.cache, '--out', join(root, 'cli-classifier'), '--config', 'tiny', '--epochs', '1', '--batch', '4']);
  assert.is(trained.code, 0, trained.errors.join('\n'));
  assert.ok(trained.lines.some((line) => /held-out accuracy \d+\.\d%/.test(line)));
  const evaluated = await cli(['evaluate', '--weights', f.cgan, '--data', f.cache, '--classifier', join(root, 'cli-classifier'), '--no-sr', '--count', '2', '--sr-count', '0', '--out', join(root, 'cli-eval')]);
  assert.is(evaluated.code, 0, evaluated.errors.join('\n'));
  assert.ok(evaluated.lines.some((line) => /conditional accuracy/.test(line)));
  const cases: Array<[string[], RegExp]> = [
    [['--weights', f.srgan], /not CGAN generator weights/],
    [['--classifier', join(f.cgan, 'weights.safetensors')], /not classifier weights: classifier\..* missing/],
    [['--count', '1'], /--count must be an integer >= 2/],
    [['--data', join(root, 'nowhere')], /nowhere: not a cache directory|nowhere/],
  ];
  for (const [extra, expected] of cases) {
    const { code, errors } = await cli(['evaluate', '--weights', f.cgan, '--data', f.cache, '--classifier', f.classifier, '--no-sr', '--count', '2', '--out', join(root, 'bad'), ...extra]);
    assert.is(code, 2, extra.join(' '));
    assert.is(errors.length, 1, errors.join('\n'));
    assert.match(errors[0], expected);
  }
  const badLr = await cli(['train', 'classifier', '--data', f.cache, '--lr', '2', '--out', join(root, 'bad-lr')]);
  assert.is(badLr.code, 2);
  assert.match(badLr.errors[0], /--lr must be a number in \(0, 1\)/);
});

test.run();
