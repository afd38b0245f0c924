// Training-time augmentation for the evaluation classifier. A random left-right flip and a small
// shift per image, so that with a few hundred images it learns the findings rather than memorising
// each patient's anatomy. And additive Gaussian noise on some images: without it the classifier
// learns "fine texture = Pneumonia" (the finding is a patchy opacity), so that noise of sigma 0.1 on
// real held-out images turned 98% of them into Pneumonia, and any generator with a little pixel
// noise scored as all-Pneumonia whatever it drew. Deterministic: every draw is keyed by
// (seed, step, image position).

import { RandomStream, hashKeys } from '../../engine/host-random.ts';

const augmentStream = 0xa06e;

export interface Augmentation {
  /** Largest shift in pixels; edges repeat the border. */
  maxShift: number;
  /** Share of images that get additive noise. */
  noiseProbability: number;
  /** Their noise sigma is uniform in [0, maxNoise] (pixel units of the [-1, 1] range); results are clamped to [-1, 1]. */
  maxNoise: number;
}

export const classifierAugmentation: Augmentation = { maxShift: 8, noiseProbability: 0.5, maxNoise: 0.3 };

/** images: [N, 1, side, side] in [-1, 1], augmented in place. */
export function augmentBatch(images: Float32Array, count: number, side: number, seed: number, step: number, augmentation: Augmentation = classifierAugmentation): void {
  const { maxShift, noiseProbability, maxNoise } = augmentation;
  const source = new Float32Array(side * side);
  for (let n = 0; n < count; n++) {
    const random = new RandomStream(seed, hashKeys(augmentStream, step, n));
    const flip = random.chance(0.5);
    const shiftX = random.integer(-maxShift, maxShift);
    const shiftY = random.integer(-maxShift, maxShift);
    const sigma = random.chance(noiseProbability) ? random.range(0, maxNoise) : 0;
    const plane = images.subarray(n * side * side, (n + 1) * side * side);
    source.set(plane);
    for (let y = 0; y < side; y++) {
      const sourceY = Math.min(side - 1, Math.max(0, y - shiftY));
      for (let x = 0; x < side; x++) {
        const shifted = Math.min(side - 1, Math.max(0, x - shiftX));
        const value = source[sourceY * side + (flip ? side - 1 - shifted : shifted)];
        plane[y * side + x] = sigma > 0 ? Math.min(1, Math.max(-1, value + sigma * random.normal())) : value;
      }
    }
  }
}

/** A copy of `pixels` with Gaussian noise of `sigma` added and clamped to [-1, 1]: the robustness probe in accuracy.json. */
export function withNoise(pixels: Float32Array, sigma: number, seed: number): Float32Array {
  const random = new RandomStream(seed, hashKeys(augmentStream, 0x2015e));
  return pixels.map((value) => Math.min(1, Math.max(-1, value + sigma * random.normal())));
}
