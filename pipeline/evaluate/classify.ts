// Running the evaluation classifier: loading its weights, the held-out real images it is judged on,
// and batched eval-mode inference that returns features, predictions and accuracy on the host.

import type { Engine } from '../../engine/runtime.ts';
import { noGrad } from '../../engine/autograd.ts';
import { Classifier, classifierConfigs, classifierFeatureSize, classifierSpecs, type ClassifierConfig } from '../../models/classifier.ts';
import type { ImageCache } from '../data/cache.ts';
import { configFor, readWeights } from '../generate/weights.ts';

export const CLASSIFIER_WEIGHTS_FORMAT = 'xraygen-classifier-weights-1';

/** Images as the models see them: `count` planes of side x side in [-1, 1], with their labels. */
export interface ImageSet {
  pixels: Float32Array;
  labels: Int32Array;
  side: number;
  count: number;
}

export interface Classified {
  /** [count, featureSize], float64 for the statistics that follow. */
  features: Float64Array;
  featureSize: number;
  predictions: Int32Array;
}

/** A classifier run folder or .safetensors file, loaded onto `engine`. */
export function loadClassifier(engine: Engine, path: string): { classifier: Classifier; sha256: string; path: string } {
  const weights = readWeights(path);
  const config = configFor<ClassifierConfig>(weights, classifierConfigs, classifierSpecs, 'classifier', 'classifier');
  const classifier = new Classifier(engine, config);
  classifier.loadStateDict(weights.file);
  return { classifier, sha256: weights.sha256, path: weights.path };
}

/** The validation and test images together: what neither the classifier nor the GANs trained on. */
export function heldOutIndices(cache: ImageCache): number[] {
  return [...cache.indicesOf('val'), ...cache.indicesOf('test')];
}

/** LR planes of the given cache images, uint8 -> [-1, 1] as in training. */
export function cacheImages(cache: ImageCache, indices: readonly number[]): ImageSet {
  const side = cache.lrSize;
  const pixels = new Float32Array(indices.length * side * side);
  indices.forEach((index, k) => {
    const plane = cache.lr(index);
    for (let i = 0; i < side * side; i++) pixels[k * side * side + i] = plane[i] / 127.5 - 1;
  });
  return { pixels, labels: Int32Array.from(indices, (index) => cache.label(index)), side, count: indices.length };
}

/** Eval-mode features and arg-max predictions of every image, `batch` at a time. */
export async function classify(engine: Engine, classifier: Classifier, images: ImageSet, batch = 32): Promise<Classified> {
  const featureSize = classifierFeatureSize(classifier.config);
  const classes = classifier.config.numClasses;
  const features = new Float64Array(images.count * featureSize);
  const predictions = new Int32Array(images.count);
  const area = images.side * images.side;
  for (let start = 0; start < images.count; start += batch) {
    const n = Math.min(batch, images.count - start);
    const outputs = engine.tidy(() => noGrad(engine, () => {
      const input = engine.fromArray(images.pixels.subarray(start * area, (start + n) * area), [n, 1, images.side, images.side], 'f32', 'classify.input');
      const { logits, features } = classifier.forward(input, false);
      return [logits, features];
    }));
    const [logits, batchFeatures] = await engine.read(outputs);
    for (const tensor of outputs) tensor.dispose();
    features.set(batchFeatures, start * featureSize);
    for (let row = 0; row < n; row++) {
      let best = 0;
      for (let k = 1; k < classes; k++) if (logits[row * classes + k] > logits[row * classes + best]) best = k;
      predictions[start + row] = best;
    }
  }
  return { features, featureSize, predictions };
}

export interface Accuracy {
  overall: number;
  /** per true class; NaN where a class has no images */
  perClass: number[];
  counts: number[];
  /** confusion[true class][predicted class]: image counts (where the misses went). */
  confusion: number[][];
}

export function accuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): Accuracy {
  const correct = new Array<number>(numClasses).fill(0);
  const counts = new Array<number>(numClasses).fill(0);
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    counts[labels[i]]++;
    confusion[labels[i]][predictions[i]]++;
    if (predictions[i] === labels[i]) correct[labels[i]]++;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  return {
    overall: total ? correct.reduce((a, b) => a + b, 0) / total : NaN,
    perClass: counts.map((count, k) => (count ? correct[k] / count : NaN)),
    counts,
    confusion,
  };
}
