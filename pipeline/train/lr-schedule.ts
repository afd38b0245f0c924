// The GAN learning-rate schedule: constant, then (with `--lr-decay START`) a linear decay to zero over
// the steps from START to the last one, as pix2pix and CycleGAN train. A GAN's class mapping and modes
// keep moving while the step size stays large; shrinking it lets the last weights settle where they are.
// A pure function of the step, so a resumed run follows the same schedule.

/** The learning rate for step `step` (0-based) of `totalSteps`, decaying linearly from `decayStart`. */
export function scheduledLearningRate(base: number, step: number, totalSteps: number, decayStart?: number): number {
  if (decayStart === undefined || step < decayStart) return base;
  return base * Math.max(0, totalSteps - step) / (totalSteps - decayStart + 1);
}
