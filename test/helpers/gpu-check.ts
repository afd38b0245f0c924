// The one generic op test: run an op on the GPU with autograd, compare its forward with a float64
// reference and its input gradients with the reference's backward (or with central differences
// of the reference when no backward is given). Each op's test is then a few lines.

import type { Engine } from '../../engine/runtime.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { backward } from '../../engine/ops/backward.ts';
import { mul } from '../../engine/ops/elementwise.ts';
import { sum } from '../../engine/ops/reduce.ts';
import { assertClose, numericGradients, type Tolerance } from './finite-diff.ts';
import { mulberry32, randn } from './random.ts';

export interface OpInput {
  shape: number[];
  /** Defaults to N(0, 1) samples from the check's seed. */
  data?: ArrayLike<number>;
  /** Checked for a gradient unless false (labels, masks, running statistics). */
  grad?: boolean;
  dtype?: 'f32' | 'i32';
}

export interface OpCheck {
  name: string;
  inputs: OpInput[];
  /** The op under test, on GPU tensors made from `inputs`. */
  gpu: (engine: Engine, tensors: Tensor[]) => Tensor;
  /** Float64 forward on the same inputs (as Float64Array). */
  reference: (inputs: Float64Array[]) => Float64Array;
  /** Float64 gradients given the upstream gradient; by default central differences of `reference`. */
  referenceBackward?: (inputs: Float64Array[], upstream: Float64Array) => Array<Float64Array | null>;
  tolerance?: Tolerance;
  gradTolerance?: Tolerance;
  seed?: number;
  /** Skip the backward comparison (forward-only ops). */
  forwardOnly?: boolean;
}

/** Runs the check; throws (naming the op, the tensor and the worst element) on a mismatch. */
export async function checkOp(engine: Engine, check: OpCheck): Promise<void> {
  const rng = mulberry32(check.seed ?? 7);
  const hostInputs = check.inputs.map((input) => {
    const size = input.shape.reduce((a, b) => a * b, 1);
    const values = input.data ? Float64Array.from(input.data) : randn(size, rng);
    // Round through float32 so the reference sees exactly what the GPU sees.
    return input.dtype === 'i32' ? values : Float64Array.from(Float32Array.from(values));
  });
  const tensors = check.inputs.map((input, i) => {
    const tensor = engine.fromArray(hostInputs[i], input.shape, input.dtype ?? 'f32', `${check.name}.input${i}`);
    tensor.requiresGrad = !check.forwardOnly && input.grad !== false && (input.dtype ?? 'f32') === 'f32';
    return tensor;
  });
  const output = check.gpu(engine, tensors);
  const expected = check.reference(hostInputs.map((a) => a.slice()));
  const tolerance = check.tolerance ?? { atol: 1e-4, rtol: 1e-4 };
  const [actual] = await engine.read([output]);
  assertClose(actual, expected, tolerance, `${check.name} forward`);

  if (!check.forwardOnly) {
    const upstream = Float64Array.from(Float32Array.from(randn(expected.length, rng)));
    const upstreamTensor = engine.fromArray(upstream, output.shape, 'f32', 'upstream');
    // loss = sum(output * upstream), so d loss / d output = upstream.
    const loss = sum(mul(output, upstreamTensor));
    backward(loss);
    const inputElements = hostInputs.reduce((total, a) => total + a.length, 0);
    if (!check.referenceBackward && inputElements > 5000) {
      throw new Error(`${check.name}: ${inputElements} input elements is too many for finite differences; give referenceBackward`);
    }
    const integerInputs = check.inputs.flatMap((input, i) => (input.dtype === 'i32' ? [i] : []));
    const expectedGrads = check.referenceBackward
      ? check.referenceBackward(hostInputs.map((a) => a.slice()), upstream)
      : numericGradients(check.reference, hostInputs.map((a) => a.slice()), upstream, 1e-6, integerInputs);
    const gradTolerance = check.gradTolerance ?? { atol: 1e-3, rtol: 1e-3 };
    for (let i = 0; i < tensors.length; i++) {
      const tensor = tensors[i];
      if (!tensor.requiresGrad) continue;
      const expectedGrad = expectedGrads[i];
      if (!expectedGrad) throw new Error(`${check.name}: no reference gradient for input ${i}`);
      if (!tensor.grad) throw new Error(`${check.name}: input ${i} got no gradient`);
      const [grad] = await engine.read([tensor.grad]);
      assertClose(grad, expectedGrad, gradTolerance, `${check.name} grad of input ${i}`);
    }
    for (const t of [upstreamTensor, loss]) t.dispose();
  }
  output.dispose();
  for (const tensor of tensors) tensor.dispose();
}
