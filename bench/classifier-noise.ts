// How an evaluation classifier's held-out accuracy holds up under additive Gaussian pixel noise:
// a judge of generated images must not read noise as a finding. Figures: bench/RESULTS.md.
//
// Usage: npx tsx bench/classifier-noise.ts CACHE CLASSIFIER   (a prepared cache; a run folder or .safetensors)

import { Command } from 'commander';
import { Engine } from '../engine/runtime.ts';
import { openCache } from '../pipeline/data/cache.ts';
import { withNoise } from '../pipeline/evaluate/augment.ts';
import { accuracy, cacheImages, classify, heldOutIndices, loadClassifier } from '../pipeline/evaluate/classify.ts';

const [cachePath, classifierPath] = new Command('bench/classifier-noise.ts')
  .argument('<cache>', 'a prepared cache')
  .argument('<classifier>', 'a run folder or .safetensors')
  .parse().args as [string, string];
const engine = await Engine.create({ seed: 0 });
const cache = openCache(cachePath);
const { classifier } = loadClassifier(engine, classifierPath);
const heldOut = cacheImages(cache, heldOutIndices(cache));
const classes = classifier.config.numClasses;
console.log(`${classifierPath} on ${heldOut.count} held-out images of ${cachePath}`);
for (const sigma of [0, 0.05, 0.1, 0.2, 0.3]) {
  const pixels = sigma === 0 ? heldOut.pixels : withNoise(heldOut.pixels, sigma, 1);
  const { predictions } = await classify(engine, classifier, { ...heldOut, pixels });
  const predicted = new Array<number>(classes).fill(0);
  for (const p of predictions) predicted[p]++;
  const result = accuracy(predictions, heldOut.labels, classes);
  console.log(`sigma ${sigma.toFixed(2)}: accuracy ${(100 * result.overall).toFixed(1)}% (per class ${result.perClass.map((v) => `${(100 * v).toFixed(1)}%`).join(' / ')}); predicted counts ${predicted.join(' / ')}`);
}
classifier.dispose();
engine.destroy();
cache.close();
