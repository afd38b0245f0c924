// `xraygen train classifier` as a library call: trains the evaluation CNN on the real training split
// with softmax cross-entropy and Adam (cosine-decayed learning rate), then reports its accuracy on
// the held-out (val + test) images. Writes RUN/config.json, metrics.jsonl, weights.safetensors and
// accuracy.json. Deterministic for a seed: batch order, initialisation and dropout all derive from it.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../engine/runtime.ts';
import { UsageError } from '../../engine/errors.ts';
import { backward } from '../../engine/ops/backward.ts';
import { crossEntropy } from '../../engine/ops/cross-entropy.ts';
import { Adam } from '../../engine/optim/adam.ts';
import { writeSafetensorsFileAtomic } from '../../engine/io/safetensors-node.ts';
import { Classifier, classifierConfigs, type ClassifierConfig } from '../../models/classifier.ts';
import { openCache } from '../data/cache.ts';
import { iterateBatches } from '../data/batches.ts';
import { RunDirectory } from '../train/run-dir.ts';
import { startTrainingProgress } from '../train/progress.ts';
import { augmentBatch, withNoise } from './augment.ts';
import { accuracy, cacheImages, classify, CLASSIFIER_WEIGHTS_FORMAT, heldOutIndices, type Accuracy } from './classify.ts';

export interface ClassifierTrainOptions {
  /** A prepared cache. */
  data: string;
  out: string;
  config: string;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  log: (line: string) => void;
  plain?: boolean;
}

/** Noise of the robustness probe, in units of the [-1, 1] pixel range. */
export const probeNoiseSigma = 0.1;

export const classifierDefaults = { config: 'default', epochs: 30, batch: 16, lr: 3e-3 };

export interface ClassifierTrainResult {
  steps: number;
  seconds: number;
  train: Accuracy;
  heldOut: Accuracy;
  /** held-out accuracy with Gaussian noise of `probeNoiseSigma` added */
  heldOutNoisy: Accuracy;
  weights: string;
}

function resolveConfig(name: string): ClassifierConfig {
  const config = (classifierConfigs as Record<string, ClassifierConfig>)[name];
  if (!config) throw new UsageError(`--config must be one of ${Object.keys(classifierConfigs).join(', ')}, got '${name}'`);
  return config;
}

export async function trainClassifier(options: ClassifierTrainOptions): Promise<ClassifierTrainResult> {
  const began = performance.now();
  const config = resolveConfig(options.config);
  if (!(options.lr > 0 && options.lr < 1)) throw new UsageError(`--lr must be a number in (0, 1), got ${options.lr}`);
  const cache = openCache(options.data);
  const trainCount = cache.indicesOf('train').length;
  const stepsPerEpoch = Math.floor(trainCount / options.batch);
  if (stepsPerEpoch === 0) throw new UsageError(`batch ${options.batch} is larger than the ${trainCount} training images`);
  const totalSteps = stepsPerEpoch * options.epochs;

  const run = new RunDirectory(options.out);
  mkdirSync(run.root, { recursive: true });
  run.rewriteMetrics([]);
  const resolved = { model: 'classifier', config: options.config, modelConfig: config, epochs: options.epochs, batch: options.batch, lr: options.lr, seed: options.seed, totalSteps, data: options.data };
  run.writeJsonAtomic(run.config, resolved);

  const engine = await Engine.create({ seed: options.seed });
  const classifier = new Classifier(engine, config);
  classifier.initialize(options.seed);
  const optimizer = new Adam(classifier.params, { lr: options.lr, weightDecay: 1e-4 });
  const progress = startTrainingProgress(totalSteps, 0, { plain: options.plain, log: options.log });
  let step = 0;
  try {
    for (const batch of iterateBatches(cache, { batchSize: options.batch, seed: options.seed, epochs: options.epochs, dropLast: true })) {
      const stepBegan = performance.now();
      // Cosine decay to zero: the last epochs settle the weights instead of hopping between minima.
      optimizer.lr = options.lr * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps));
      augmentBatch(batch.lr, batch.labels.length, batch.lrShape[3], options.seed, step);
      const loss = engine.tidy(() => {
        classifier.params.zeroGrad();
        const images = engine.fromArray(batch.lr, batch.lrShape, 'f32', 'images');
        const labels = engine.fromArray(batch.labels, [batch.labels.length], 'i32', 'labels');
        const value = crossEntropy(classifier.forward(images, true).logits, labels);
        backward(value);
        optimizer.step();
        return value;
      });
      const [lossValue] = await engine.read([loss]);
      loss.dispose();
      if (!Number.isFinite(lossValue[0])) throw new Error(`classifier loss is ${lossValue[0]} at step ${step}: training diverged (try a lower --lr)`);
      step++;
      const metrics = { loss: lossValue[0] };
      run.appendMetrics({ step, epoch: batch.epoch, ...metrics, lr: optimizer.lr });
      progress.update(step, batch.epoch, metrics, batch.labels.length / ((performance.now() - stepBegan) / 1000));
    }
  } finally {
    progress.stop();
  }

  const trainImages = cacheImages(cache, cache.indicesOf('train'));
  const heldOutImages = cacheImages(cache, heldOutIndices(cache));
  const train = accuracy((await classify(engine, classifier, trainImages)).predictions, trainImages.labels, config.numClasses);
  const heldOut = accuracy((await classify(engine, classifier, heldOutImages)).predictions, heldOutImages.labels, config.numClasses);
  // Robustness probe: a judge of generated images must not read pixel noise as a finding.
  const noisyImages = { ...heldOutImages, pixels: withNoise(heldOutImages.pixels, probeNoiseSigma, options.seed) };
  const heldOutNoisy = accuracy((await classify(engine, classifier, noisyImages)).predictions, heldOutImages.labels, config.numClasses);
  await writeSafetensorsFileAtomic(run.weights, await classifier.stateDict(), { format: CLASSIFIER_WEIGHTS_FORMAT, config: JSON.stringify(config), step: String(step) });
  writeFileSync(join(run.root, 'accuracy.json'), `${JSON.stringify({ train, heldOut, heldOutImages: heldOutImages.count, heldOutNoisy: { sigma: probeNoiseSigma, ...heldOutNoisy } }, null, 2)}\n`);
  optimizer.dispose();
  classifier.dispose();
  engine.destroy();
  cache.close();
  return { steps: step, seconds: (performance.now() - began) / 1000, train, heldOut, heldOutNoisy, weights: run.weights };
}
