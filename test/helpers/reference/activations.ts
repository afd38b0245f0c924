// Float64 reference for activations and dropout, any shape. Derivatives at exactly 0 follow
// PyTorch (x > 0 takes the positive branch), so kernels can match bit-for-bit in intent.

/** LeakyReLU; the project's slope is 0.2 (PyTorch's own default is 0.01). */
export function leakyReluForward(x: Float64Array, slope = 0.2): Float64Array {
  return x.map((value) => (value > 0 ? value : value * slope));
}

export function leakyReluBackward(gradOutput: Float64Array, x: Float64Array, slope = 0.2): Float64Array {
  return gradOutput.map((g, i) => (x[i] > 0 ? g : g * slope));
}

export interface PreluGrads {
  gradInput: Float64Array;
  /** [1]: PReLU here has a single shared weight. */
  gradWeight: Float64Array;
}

/** PReLU with one shared weight. weight: [1]. */
export function preluForward(x: Float64Array, weight: Float64Array): Float64Array {
  const slope = weight[0];
  return x.map((value) => (value > 0 ? value : value * slope));
}

export function preluBackward(gradOutput: Float64Array, x: Float64Array, weight: Float64Array): PreluGrads {
  const slope = weight[0];
  const gradInput = new Float64Array(x.length);
  let gradSlope = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] > 0) {
      gradInput[i] = gradOutput[i];
    } else {
      gradInput[i] = gradOutput[i] * slope;
      gradSlope += gradOutput[i] * x[i];
    }
  }
  return { gradInput, gradWeight: Float64Array.of(gradSlope) };
}

export function tanhForward(x: Float64Array): Float64Array {
  return x.map(Math.tanh);
}

/** Takes the forward's output, as PyTorch does: d tanh = 1 - y^2. */
export function tanhBackward(gradOutput: Float64Array, output: Float64Array): Float64Array {
  return gradOutput.map((g, i) => g * (1 - output[i] * output[i]));
}

/** Written in two branches so large |x| never overflows exp. */
export function sigmoidScalar(value: number): number {
  if (value >= 0) return 1 / (1 + Math.exp(-value));
  const e = Math.exp(value);
  return e / (1 + e);
}

export function sigmoidForward(x: Float64Array): Float64Array {
  return x.map(sigmoidScalar);
}

/** Takes the forward's output: d sigmoid = y (1 - y). */
export function sigmoidBackward(gradOutput: Float64Array, output: Float64Array): Float64Array {
  return gradOutput.map((g, i) => g * output[i] * (1 - output[i]));
}

/**
 * Inverted dropout with an explicit mask so tests need no shared RNG: kept elements (mask 1)
 * are scaled by 1 / (1 - p), dropped ones (mask 0) become 0.
 */
export function dropoutForward(x: Float64Array, keepMask: ArrayLike<number>, p: number): Float64Array {
  const scale = 1 / (1 - p);
  return x.map((value, i) => (keepMask[i] ? value * scale : 0));
}

export function dropoutBackward(gradOutput: Float64Array, keepMask: ArrayLike<number>, p: number): Float64Array {
  return dropoutForward(gradOutput, keepMask, p);
}
