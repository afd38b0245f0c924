// Image-quality and distribution metrics, in float64 on the host: PSNR and SSIM (Wang et al. 2004,
// as skimage's structural_similarity with gaussian_weights=True computes it), the Fréchet distance
// between Gaussians fitted to feature sets (FID's formula, with a symmetric matrix square root from a
// Jacobi eigen-decomposition), and the mean pairwise feature distance used to spot mode collapse.

/** 10 log10(range^2 / MSE); Infinity for identical images. */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, dataRange = 255): number {
  if (a.length !== b.length || a.length === 0) throw new Error(`psnr: sizes ${a.length} and ${b.length}`);
  let squares = 0;
  for (let i = 0; i < a.length; i++) squares += (a[i] - b[i]) ** 2;
  const mse = squares / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / mse);
}

export interface SsimOptions {
  dataRange?: number;
  /** Gaussian window: sigma 1.5 truncated at 3.5 sigma gives the classic 11x11 window. */
  sigma?: number;
  truncate?: number;
  k1?: number;
  k2?: number;
}

function gaussianTaps(sigma: number, truncate: number): Float64Array {
  const radius = Math.floor(truncate * sigma + 0.5);
  const taps = Float64Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((s, v) => s + v, 0);
  return taps.map((v) => v / total);
}

/** Separable filtering over the windows that lie wholly inside the image ('valid'). */
function filterValid(plane: Float64Array, width: number, height: number, taps: Float64Array): { values: Float64Array; width: number; height: number } {
  const size = taps.length;
  const outWidth = width - size + 1;
  const outHeight = height - size + 1;
  const rows = new Float64Array(height * outWidth);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      for (let k = 0; k < size; k++) sum += taps[k] * plane[y * width + x + k];
      rows[y * outWidth + x] = sum;
    }
  }
  const values = new Float64Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      for (let k = 0; k < size; k++) sum += taps[k] * rows[(y + k) * outWidth + x];
      values[y * outWidth + x] = sum;
    }
  }
  return { values, width: outWidth, height: outHeight };
}

/**
 * Mean SSIM of two width x height images. skimage filters the whole image and then crops the
 * window's radius from every side before averaging; the pixels left are exactly those whose
 * window lies inside the image, so valid filtering gives the same number without a border rule.
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, width: number, height: number, options: SsimOptions = {}): number {
  const { dataRange = 255, sigma = 1.5, truncate = 3.5, k1 = 0.01, k2 = 0.03 } = options;
  if (a.length !== width * height || b.length !== width * height) throw new Error(`ssim: images are not ${width}x${height}`);
  const taps = gaussianTaps(sigma, truncate);
  if (width < taps.length || height < taps.length) throw new Error(`ssim: ${width}x${height} is smaller than the ${taps.length}x${taps.length} window`);
  const x = Float64Array.from(a);
  const y = Float64Array.from(b);
  const filter = (plane: Float64Array) => filterValid(plane, width, height, taps).values;
  const meanX = filter(x);
  const meanY = filter(y);
  const meanXX = filter(x.map((v) => v * v));
  const meanYY = filter(y.map((v) => v * v));
  const meanXY = filter(x.map((v, i) => v * y[i]));
  const c1 = (k1 * dataRange) ** 2;
  const c2 = (k2 * dataRange) ** 2;
  let total = 0;
  for (let i = 0; i < meanX.length; i++) {
    const varianceX = meanXX[i] - meanX[i] ** 2;
    const varianceY = meanYY[i] - meanY[i] ** 2;
    const covariance = meanXY[i] - meanX[i] * meanY[i];
    total += ((2 * meanX[i] * meanY[i] + c1) * (2 * covariance + c2)) / ((meanX[i] ** 2 + meanY[i] ** 2 + c1) * (varianceX + varianceY + c2));
  }
  return total / meanX.length;
}

/**
 * Eigen-decomposition of a symmetric n x n matrix (row-major) by cyclic Jacobi rotations, in
 * float64: slow for big n but accurate to rounding for the tens of dimensions used here.
 * Returns eigenvalues and the eigenvectors as the columns of `vectors`.
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number, maxSweeps = 64): { values: Float64Array; vectors: Float64Array } {
  if (matrix.length !== n * n) throw new Error(`symmetricEigen: ${matrix.length} values for ${n}x${n}`);
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (const value of a) scale += value * value;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off <= 1e-30 * scale || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        // The rotation that zeroes a[p][q] (Numerical Recipes' jacobi: the smaller root for t).
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]), vectors: v };
}

/** V f(Λ) V^T for a symmetric matrix. */
function spectralMap(matrix: ArrayLike<number>, n: number, f: (eigenvalue: number) => number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const mapped = values.map(f);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += vectors[i * n + k] * mapped[k] * vectors[j * n + k];
      out[i * n + j] = sum;
      out[j * n + i] = sum;
    }
  }
  return out;
}

/** The symmetric positive semi-definite square root; eigenvalues below zero (rounding) count as zero. */
export function sqrtmSymmetric(matrix: ArrayLike<number>, n: number): Float64Array {
  return spectralMap(matrix, n, (value) => Math.sqrt(Math.max(0, value)));
}

function multiply(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
  return out;
}

export interface Gaussian {
  mean: Float64Array;
  /** [dim, dim], unbiased (divides by count - 1, as numpy.cov and pytorch-fid do) */
  covariance: Float64Array;
  dim: number;
  count: number;
}

/** Mean and covariance of `count` feature rows of length `dim`. */
export function fitGaussian(features: ArrayLike<number>, count: number, dim: number): Gaussian {
  if (features.length < count * dim) throw new Error(`fitGaussian: ${features.length} values for ${count}x${dim}`);
  const mean = new Float64Array(dim);
  for (let r = 0; r < count; r++) for (let d = 0; d < dim; d++) mean[d] += features[r * dim + d] / count;
  const covariance = new Float64Array(dim * dim);
  const centered = new Float64Array(dim);
  for (let r = 0; r < count; r++) {
    for (let d = 0; d < dim; d++) centered[d] = features[r * dim + d] - mean[d];
    for (let i = 0; i < dim; i++) for (let j = i; j < dim; j++) covariance[i * dim + j] += centered[i] * centered[j];
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      covariance[i * dim + j] /= count - 1;
      covariance[j * dim + i] = covariance[i * dim + j];
    }
  }
  return { mean, covariance, dim, count };
}

/**
 * ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)). tr((S1 S2)^(1/2)) equals the trace of the
 * symmetric root of S1^(1/2) S2 S1^(1/2), which has the same eigenvalues and stays symmetric, so the
 * Jacobi solver applies and no complex square root appears (scipy's sqrtm can give one).
 */
export function frechetDistance(a: Gaussian, b: Gaussian): number {
  const n = a.dim;
  if (b.dim !== n) throw new Error(`frechetDistance: dimensions ${a.dim} and ${b.dim}`);
  if (a.count < 2 || b.count < 2) return NaN;
  let meanTerm = 0;
  let trace = 0;
  for (let i = 0; i < n; i++) {
    meanTerm += (a.mean[i] - b.mean[i]) ** 2;
    trace += a.covariance[i * n + i] + b.covariance[i * n + i];
  }
  const root = sqrtmSymmetric(a.covariance, n);
  const product = multiply(multiply(root, b.covariance, n), root, n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) product[i * n + j] = product[j * n + i] = (product[i * n + j] + product[j * n + i]) / 2;
  const { values } = symmetricEigen(product, n);
  let crossTrace = 0;
  for (const value of values) crossTrace += Math.sqrt(Math.max(0, value));
  return Math.max(0, meanTerm + trace - 2 * crossTrace);
}

/** Mean Euclidean distance over all pairs of rows; NaN for fewer than two. */
export function meanPairwiseDistance(features: ArrayLike<number>, count: number, dim: number): number {
  if (count < 2) return NaN;
  let total = 0;
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      let squares = 0;
      for (let d = 0; d < dim; d++) squares += (features[i * dim + d] - features[j * dim + d]) ** 2;
      total += Math.sqrt(squares);
    }
  }
  return total / ((count * (count - 1)) / 2);
}
