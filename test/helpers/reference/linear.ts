// Float64 reference for matmul and linear (PyTorch's Linear: weight [out, in], y = x W^T + b).

export interface MatmulGrads {
  gradA: Float64Array;
  gradB: Float64Array;
}

/** C = A B. a: [M, K]; b: [K, N]; returns [M, N]. */
export function matmulForward(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let row = 0; row < m; row++) {
    for (let inner = 0; inner < k; inner++) {
      const left = a[row * k + inner];
      for (let column = 0; column < n; column++) c[row * n + column] += left * b[inner * n + column];
    }
  }
  return c;
}

/** gradOutput: [M, N]. Returns dA = dC B^T ([M, K]) and dB = A^T dC ([K, N]). */
export function matmulBackward(
  gradOutput: Float64Array, a: Float64Array, b: Float64Array, m: number, k: number, n: number,
): MatmulGrads {
  const gradA = new Float64Array(m * k);
  const gradB = new Float64Array(k * n);
  for (let row = 0; row < m; row++) {
    for (let inner = 0; inner < k; inner++) {
      let total = 0;
      for (let column = 0; column < n; column++) {
        const upstream = gradOutput[row * n + column];
        total += upstream * b[inner * n + column];
        gradB[inner * n + column] += a[row * k + inner] * upstream;
      }
      gradA[row * k + inner] = total;
    }
  }
  return { gradA, gradB };
}

export interface LinearGrads {
  gradInput: Float64Array;
  gradWeight: Float64Array;
  /** Always computed ([out]); ignore it for a layer without bias. */
  gradBias: Float64Array;
}

/** y = x W^T + b. x: [batch, in]; weight: [out, in]; bias: [out] or null; returns [batch, out]. */
export function linearForward(
  x: Float64Array, weight: Float64Array, bias: Float64Array | null,
  batch: number, inFeatures: number, outFeatures: number,
): Float64Array {
  const y = new Float64Array(batch * outFeatures);
  for (let row = 0; row < batch; row++) {
    for (let out = 0; out < outFeatures; out++) {
      let total = bias ? bias[out] : 0;
      for (let inner = 0; inner < inFeatures; inner++) total += x[row * inFeatures + inner] * weight[out * inFeatures + inner];
      y[row * outFeatures + out] = total;
    }
  }
  return y;
}

/** gradOutput: [batch, out]. Returns dx [batch, in], dW [out, in], db [out]. */
export function linearBackward(
  gradOutput: Float64Array, x: Float64Array, weight: Float64Array,
  batch: number, inFeatures: number, outFeatures: number,
): LinearGrads {
  const gradInput = new Float64Array(batch * inFeatures);
  const gradWeight = new Float64Array(outFeatures * inFeatures);
  const gradBias = new Float64Array(outFeatures);
  for (let row = 0; row < batch; row++) {
    for (let out = 0; out < outFeatures; out++) {
      const upstream = gradOutput[row * outFeatures + out];
      gradBias[out] += upstream;
      for (let inner = 0; inner < inFeatures; inner++) {
        gradInput[row * inFeatures + inner] += upstream * weight[out * inFeatures + inner];
        gradWeight[out * inFeatures + inner] += upstream * x[row * inFeatures + inner];
      }
    }
  }
  return { gradInput, gradWeight, gradBias };
}
