// Training-time augmentation for the evaluation classifier: a random left-right flip and a small
// shift per image, so that with a few hundred images it learns the findings rather than memorising
// each patient's anatomy. Deterministic: every draw is keyed by (seed, step, image position).

import { RandomStream, hashKeys } from '../../engine/host-random.ts';

const augmentStream = 0xa06e;

/** images: [N, 1, side, side] in place; shifts up to `maxShift` pixels, edges repeat the border. */
export function augmentBatch(images: Float32Array, count: number, side: number, seed: number, step: number, maxShift = 8): void {
  const source = new Float32Array(side * side);
  for (let n = 0; n < count; n++) {
    const random = new RandomStream(seed, hashKeys(augmentStream, step, n));
    const flip = random.chance(0.5);
    const shiftX = random.integer(-maxShift, maxShift);
    const shiftY = random.integer(-maxShift, maxShift);
    const plane = images.subarray(n * side * side, (n + 1) * side * side);
    source.set(plane);
    for (let y = 0; y < side; y++) {
      const sourceY = Math.min(side - 1, Math.max(0, y - shiftY));
      for (let x = 0; x < side; x++) {
        const shifted = Math.min(side - 1, Math.max(0, x - shiftX));
        plane[y * side + x] = source[sourceY * side + (flip ? side - 1 - shifted : shifted)];
      }
    }
  }
}
