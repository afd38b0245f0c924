// Float64 reference for same-shape elementwise arithmetic (no broadcasting: the engine's add/mul
// kernels take equal shapes) and for scaling by a constant.

export interface BinaryGrads {
  gradA: Float64Array;
  gradB: Float64Array;
}

function checkSameLength(a: Float64Array, b: Float64Array, op: string): void {
  if (a.length !== b.length) throw new Error(`${op}: lengths differ (${a.length} vs ${b.length})`);
}

/** a + b, any shape (equal shapes). */
export function addForward(a: Float64Array, b: Float64Array): Float64Array {
  checkSameLength(a, b, 'add');
  return a.map((value, i) => value + b[i]);
}

export function addBackward(gradOutput: Float64Array): BinaryGrads {
  return { gradA: gradOutput.slice(), gradB: gradOutput.slice() };
}

/** a * b elementwise (equal shapes). */
export function mulForward(a: Float64Array, b: Float64Array): Float64Array {
  checkSameLength(a, b, 'mul');
  return a.map((value, i) => value * b[i]);
}

export function mulBackward(gradOutput: Float64Array, a: Float64Array, b: Float64Array): BinaryGrads {
  return { gradA: gradOutput.map((g, i) => g * b[i]), gradB: gradOutput.map((g, i) => g * a[i]) };
}

/** x * factor for a constant factor (no gradient for the factor). */
export function scaleForward(x: Float64Array, factor: number): Float64Array {
  return x.map((value) => value * factor);
}

export function scaleBackward(gradOutput: Float64Array, factor: number): Float64Array {
  return gradOutput.map((g) => g * factor);
}
