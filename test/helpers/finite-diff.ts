// Numeric checks shared by every op test: central-difference gradients to validate hand-written
// backward passes, and closeness assertions that name the worst element when they fail.

/**
 * Numeric gradients of L = sum(f(inputs) * upstream) with respect to every element of every input,
 * by central differences. f must not keep or mutate the arrays it is given; the inputs are
 * restored after each probe. `step` 1e-6 balances truncation (~step^2) against float64 rounding
 * (~1e-16 / step) for values of order 1. Inputs listed in `skipInputs` (integer indices, masks)
 * are not perturbed and get an all-zero gradient.
 */
export function numericGradients(
  f: (inputs: Float64Array[]) => Float64Array,
  inputs: Float64Array[],
  upstream: Float64Array,
  step = 1e-6,
  skipInputs: readonly number[] = [],
): Float64Array[] {
  const probe = (): number => {
    const output = f(inputs);
    if (output.length !== upstream.length) {
      throw new Error(`numericGradients: output has ${output.length} elements, upstream ${upstream.length}`);
    }
    let total = 0;
    for (let i = 0; i < output.length; i++) total += output[i] * upstream[i];
    return total;
  };
  return inputs.map((input, which) => {
    const grad = new Float64Array(input.length);
    if (skipInputs.includes(which)) return grad;
    for (let i = 0; i < input.length; i++) {
      const original = input[i];
      input[i] = original + step;
      const plus = probe();
      input[i] = original - step;
      const minus = probe();
      input[i] = original;
      grad[i] = (plus - minus) / (2 * step);
    }
    return grad;
  });
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface Difference {
  /** Largest |actual - expected|. */
  maxAbs: number;
  /** Index of that element (-1 for empty arrays). */
  index: number;
}

/** Largest absolute difference and where it is; lengths must match. */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): Difference {
  if (actual.length !== expected.length) {
    throw new Error(`maxAbsDiff: lengths differ (${actual.length} vs ${expected.length})`);
  }
  let maxAbs = 0;
  let index = -1;
  for (let i = 0; i < actual.length; i++) {
    const difference = Math.abs(actual[i] - expected[i]);
    // NaN must fail loudly, so it counts as an infinite difference.
    const measured = Number.isNaN(difference) ? Infinity : difference;
    if (index < 0 || measured > maxAbs) {
      maxAbs = measured;
      index = i;
    }
  }
  return { maxAbs, index };
}

/**
 * Throws unless |actual - expected| <= atol + rtol * |expected| everywhere (numpy's allclose rule).
 * The message names the element that exceeds its bound by the largest factor.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: Tolerance,
  label: string,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: lengths differ (actual ${actual.length}, expected ${expected.length})`);
  }
  let worstRatio = 0;
  let worstIndex = -1;
  let failures = 0;
  for (let i = 0; i < actual.length; i++) {
    const bound = tolerance.atol + tolerance.rtol * Math.abs(expected[i]);
    const difference = Math.abs(actual[i] - expected[i]);
    const ratio = Number.isNaN(difference) ? Infinity : difference / bound;
    if (ratio > 1) failures++;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worstIndex = i;
    }
  }
  if (failures > 0) {
    const overall = maxAbsDiff(actual, expected);
    throw new Error(
      `${label}: ${failures}/${actual.length} elements outside atol ${tolerance.atol} rtol ${tolerance.rtol}; ` +
        `worst at [${worstIndex}]: actual ${actual[worstIndex]} expected ${expected[worstIndex]} ` +
        `(${worstRatio.toExponential(2)}x the bound); max abs diff ${overall.maxAbs.toExponential(3)} at [${overall.index}]`,
    );
  }
}
