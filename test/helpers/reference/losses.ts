// Float64 reference for the two training losses, both with mean reduction: binary cross-entropy
// on logits (the stable form PyTorch uses) and mean squared error. Any shape; target same shape.

import { sigmoidScalar } from './activations.ts';

export interface LossGrads {
  gradInput: Float64Array;
  /** PyTorch differentiates the target too; the engine only needs it for completeness. */
  gradTarget: Float64Array;
}

/** mean(max(x, 0) - x t + log(1 + exp(-|x|))): never exponentiates a large positive number. */
export function bceWithLogitsForward(logits: Float64Array, target: Float64Array): number {
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    total += Math.max(x, 0) - x * target[i] + Math.log1p(Math.exp(-Math.abs(x)));
  }
  return total / logits.length;
}

/** gradOutput: scalar upstream. d/dx = (sigmoid(x) - t) / n; d/dt = -x / n. */
export function bceWithLogitsBackward(logits: Float64Array, target: Float64Array, gradOutput = 1): LossGrads {
  const scale = gradOutput / logits.length;
  return {
    gradInput: logits.map((x, i) => (sigmoidScalar(x) - target[i]) * scale),
    gradTarget: logits.map((x) => -x * scale),
  };
}

/** mean((x - t)^2). */
export function mseForward(input: Float64Array, target: Float64Array): number {
  let total = 0;
  for (let i = 0; i < input.length; i++) total += (input[i] - target[i]) ** 2;
  return total / input.length;
}

export function mseBackward(input: Float64Array, target: Float64Array, gradOutput = 1): LossGrads {
  const scale = (2 * gradOutput) / input.length;
  const gradInput = input.map((x, i) => (x - target[i]) * scale);
  return { gradInput, gradTarget: gradInput.map((g) => -g) };
}
