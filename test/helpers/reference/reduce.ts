// Float64 reference for reductions: sum and mean of all elements, and sum over chosen axes
// (keeping them as size 1, like torch.sum(..., keepdim=True)).

/** Sum of all elements: a scalar. */
export function sumForward(x: Float64Array): number {
  let total = 0;
  for (const value of x) total += value;
  return total;
}

/** gradOutput is the scalar upstream gradient; every element receives it. */
export function sumBackward(gradOutput: number, length: number): Float64Array {
  return new Float64Array(length).fill(gradOutput);
}

export function meanForward(x: Float64Array): number {
  return sumForward(x) / x.length;
}

export function meanBackward(gradOutput: number, length: number): Float64Array {
  return new Float64Array(length).fill(gradOutput / length);
}

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let axis = shape.length - 2; axis >= 0; axis--) strides[axis] = strides[axis + 1] * shape[axis + 1];
  return strides;
}

/** For every input element, the flat index of the output element it is summed into. */
function reducedIndices(shape: readonly number[], axes: readonly number[]): { targets: Int32Array; outputShape: number[] } {
  const outputShape = shape.map((size, axis) => (axes.includes(axis) ? 1 : size));
  const inputStrides = stridesOf(shape);
  const outputStrides = stridesOf(outputShape);
  const count = shape.reduce((product, size) => product * size, 1);
  const targets = new Int32Array(count);
  for (let index = 0; index < count; index++) {
    let target = 0;
    for (let axis = 0; axis < shape.length; axis++) {
      const coordinate = Math.floor(index / inputStrides[axis]) % shape[axis];
      if (!axes.includes(axis)) target += coordinate * outputStrides[axis];
    }
    targets[index] = target;
  }
  return { targets, outputShape };
}

/** Sum over `axes` of x (shape `shape`), keepdim: e.g. [N, C, H, W] over [0, 2, 3] -> [1, C, 1, 1]. */
export function sumAxesForward(
  x: Float64Array, shape: readonly number[], axes: readonly number[],
): { output: Float64Array; outputShape: number[] } {
  const { targets, outputShape } = reducedIndices(shape, axes);
  const output = new Float64Array(outputShape.reduce((product, size) => product * size, 1));
  for (let index = 0; index < x.length; index++) output[targets[index]] += x[index];
  return { output, outputShape };
}

/** gradOutput has the keepdim output shape; it is broadcast back over the summed axes. */
export function sumAxesBackward(gradOutput: Float64Array, shape: readonly number[], axes: readonly number[]): Float64Array {
  const { targets } = reducedIndices(shape, axes);
  return Float64Array.from(targets, (target) => gradOutput[target]);
}
