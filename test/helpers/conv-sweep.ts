// A randomised sweep of the conv kernels: seeded random geometries (conv2d and convTranspose2d, kernels,
// strides, paddings, output paddings, odd and aligned widths, channel counts that leave blocks part
// empty), each run with every gather and weight-gradient variant of convTuning forced in turn (a
// variant that cannot run the shape falls back to the default, and a combination already seen is
// skipped), against the float64 reference. The hand-picked cases of conv.test.ts cover what each
// variant was written for; this looks for what nobody thought of (it found the VEC4_STRIP halo bug of
// 2026-11-26, outputs wider than their input, in a few seconds).

import type { Engine } from '../../engine/runtime.ts';
import * as conv from '../../engine/ops/conv.ts';
import { convTuning, GATHER_VARIANTS, WEIGHT_GRAD_VARIANTS } from '../../engine/ops/conv-kernels.ts';
import { enableConvAutotune, takeUsedConvVariants } from '../../engine/ops/conv-autotune.ts';
import * as ref from './reference/conv.ts';
import type { Shape4 } from './reference.ts';
import type { Rng } from './random.ts';


export interface SweepCase {
  transposed: boolean;
  x: Shape4;
  weight: Shape4;
  stride: number;
  padding: number;
  outputPadding: number;
}

export const describeSweepCase = (c: SweepCase): string =>
  `${c.transposed ? 'convTranspose2d' : 'conv2d'} x${c.x.join('x')} w${c.weight.join('x')} s${c.stride} p${c.padding}${c.outputPadding ? ` op${c.outputPadding}` : ''}`;

function outputSize(c: SweepCase, size: number, kernel: number): number {
  return c.transposed ? (size - 1) * c.stride - 2 * c.padding + kernel + c.outputPadding : Math.floor((size + 2 * c.padding - kernel) / c.stride) + 1;
}

/** A random case; `large`: the SRGAN's 7 and 9 kernels, up to 64 channels and 36 columns. */
export function randomConvCase(rng: Rng, large = false): SweepCase {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rng() * values.length)]!;
  const int = (low: number, high: number) => low + Math.floor(rng() * (high - low + 1));
  for (;;) {
    const transposed = rng() < 0.5;
    const kernel = large ? pick([1, 2, 3, 4, 5, 7, 9]) : int(1, 5);
    const stride = int(1, 3);
    const padding = int(0, kernel - 1);
    const inChannels = pick(large ? [1, 2, 3, 7, 16, 24, 33, 40] : [1, 2, 3, 4, 5, 8, 9, 13, 16, 17]);
    const outChannels = pick(large ? [1, 3, 8, 16, 32, 40, 64] : [1, 2, 3, 4, 6, 8, 12, 16, 20, 33]);
    const height = int(1, 14);
    const width = pick(large ? [8, 16, 28, 32, 36, 17, 31] : [4, 8, 12, 16, 5, 7, 9, 13, 20, 24]);
    const c: SweepCase = {
      transposed, stride, padding, outputPadding: transposed ? int(0, stride - 1) : 0,
      x: [int(1, 2), inChannels, height, width],
      weight: transposed ? [inChannels, outChannels, kernel, kernel] : [outChannels, inChannels, kernel, kernel],
    };
    if (outputSize(c, height, kernel) >= 1 && outputSize(c, width, kernel) >= 1) return c;
  }
}

/** Largest |actual - expected| over the larger of 1 and the largest |expected|. */
function relativeError(actual: Float32Array, expected: Float64Array): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / scale;
}

/**
 * Runs `c` on `engine` with every variant; returns one line per pass that is off by more than
 * `tolerance` (relative to the output's largest value) and the variant combinations that ran.
 */
export async function sweepConvCase(engine: Engine, c: SweepCase, rng: Rng, tolerance = 1e-4): Promise<{ failures: string[]; ran: number }> {
  const values = (shape: readonly number[]) => Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng() * 2 - 1);
  const outChannels = c.transposed ? c.weight[1] : c.weight[0];
  const yShape: Shape4 = [c.x[0], outChannels, outputSize(c, c.x[2], c.weight[2]), outputSize(c, c.x[3], c.weight[3])];
  const [xs, ws, dys] = [values(c.x), values(c.weight), values(yShape)];
  const options = { stride: c.stride, padding: c.padding, outputPadding: c.outputPadding };
  const forward = c.transposed ? ref.convTranspose2dForward(xs, c.x, ws, c.weight, null, options) : ref.conv2dForward(xs, c.x, ws, c.weight, null, options);
  const grads = c.transposed ? ref.convTranspose2dBackward(dys, xs, c.x, ws, c.weight, options) : ref.conv2dBackward(dys, xs, c.x, ws, c.weight, options);
  const x = engine.fromArray(Float32Array.from(xs), c.x);
  const weight = engine.fromArray(Float32Array.from(ws), c.weight);
  const dy = engine.fromArray(Float32Array.from(dys), yShape);
  // The autotuner's bookkeeping says which variant each call ran.
  enableConvAutotune(engine);
  const saved = { ...convTuning };
  const failures: string[] = [];
  const seen = new Set<string>();
  try {
    for (const gather of GATHER_VARIANTS) {
      Object.assign(convTuning, { gather, weightGrad: null });
      const y = c.transposed ? conv.convTranspose2d(x, weight, null, options) : conv.conv2d(x, weight, null, options);
      const dx = c.transposed ? conv.convTranspose2dGradInput(dy, weight, c.x, options) : conv.conv2dGradInput(dy, weight, c.x, options);
      const ran = Object.values(takeUsedConvVariants(engine)).join(' / ');
      if (!seen.has(ran)) {
        seen.add(ran);
        const [yValues, dxValues] = (await engine.read([y, dx])) as Float32Array[];
        const errors = [relativeError(yValues!, forward.output), relativeError(dxValues!, grads.gradInput)];
        if (errors.some((e) => e > tolerance)) failures.push(`gathers ${ran} (forward / grad-input): errors ${errors.map((e) => e.toExponential(2)).join(' / ')}`);
      }
      y.dispose();
      dx.dispose();
    }
    for (const weightGrad of WEIGHT_GRAD_VARIANTS) {
      Object.assign(convTuning, { gather: null, weightGrad });
      const dw = c.transposed ? conv.convTranspose2dGradWeight(dy, x, c.weight, options) : conv.conv2dGradWeight(dy, x, c.weight, options);
      const ran = `weight gradient ${Object.values(takeUsedConvVariants(engine)).join(' / ')}`;
      if (!seen.has(ran)) {
        seen.add(ran);
        const error = relativeError((await engine.read([dw]))[0] as Float32Array, grads.gradWeight);
        if (error > tolerance) failures.push(`${ran}: error ${error.toExponential(2)}`);
      }
      dw.dispose();
    }
  } finally {
    Object.assign(convTuning, saved);
    [x, weight, dy].forEach((t) => t.dispose());
  }
  return { failures: failures.map((f) => `${describeSweepCase(c)}: ${f}`), ran: seen.size };
}
