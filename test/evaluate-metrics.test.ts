// The evaluation metrics against known values: PSNR / SSIM and bicubic / nearest upscaling against
// numpy + OpenCV vectors (test/reference/make_metric_vectors.py), the Fréchet distance of Gaussians
// with closed forms and against LAPACK, the Jacobi eigen-solver and matrix square root.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fitGaussian, frechetDistance, meanPairwiseDistance, psnr, sqrtmSymmetric, ssim, symmetricEigen, type Gaussian } from '../pipeline/evaluate/metrics.ts';
import { toUint8, upscaleBicubic, upscaleNearest } from '../pipeline/evaluate/upscale.ts';
import { assertClose } from './helpers/finite-diff.ts';
import { mulberry32, randn } from './helpers/random.ts';

const vectors = JSON.parse(readFileSync(new URL('./reference/vectors/metrics.json', import.meta.url), 'utf8'));

const gaussian = (mean: number[], covariance: number[], count = 100): Gaussian => ({ mean: Float64Array.from(mean), covariance: Float64Array.from(covariance), dim: mean.length, count });

function multiply(a: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) out[i * n + j] += a[i * n + k] * b[k * n + j];
  return out;
}

function randomSpd(n: number, seed: number): Float64Array {
  const factor = randn(n * n, mulberry32(seed));
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) out[i * n + j] += factor[i * n + k] * factor[j * n + k] / n;
  return out;
}

test('PSNR and SSIM match the numpy / OpenCV reference', () => {
  const { width, height, reference, cases } = vectors.images;
  for (const item of cases) {
    const expectedPsnr = item.psnr ?? Infinity;
    const actual = psnr(reference, item.image);
    assert.ok(expectedPsnr === Infinity ? actual === Infinity : Math.abs(actual - expectedPsnr) < 1e-9, `${item.name} psnr ${actual} vs ${expectedPsnr}`);
    const actualSsim = ssim(reference, item.image, width, height);
    assert.ok(Math.abs(actualSsim - item.ssim) < 1e-9, `${item.name} ssim ${actualSsim} vs ${item.ssim}`);
  }
});

test('PSNR and SSIM of constructed images have their textbook values', () => {
  const zeros = new Float64Array(64 * 64);
  const ones = zeros.map(() => 1);
  // MSE 1 on a 255 range: 20 log10(255).
  assert.ok(Math.abs(psnr(zeros, ones) - 20 * Math.log10(255)) < 1e-12);
  assert.ok(Math.abs(psnr(zeros, ones, 1) - 0) < 1e-12);
  // Two constant images: SSIM is the luminance term alone, (2 a b + C1) / (a^2 + b^2 + C1).
  const c1 = (0.01 * 255) ** 2;
  const expected = (2 * 100 * 120 + c1) / (100 ** 2 + 120 ** 2 + c1);
  assert.ok(Math.abs(ssim(zeros.map(() => 100), zeros.map(() => 120), 64, 64) - expected) < 1e-12);
  assert.ok(Math.abs(ssim(ones, ones, 64, 64) - 1) < 1e-15);
  assert.throws(() => ssim(new Float64Array(25), new Float64Array(25), 5, 5), /smaller than the 11x11 window/);
});

test('bicubic and nearest upscaling match cv2.resize', () => {
  const { width, height, factor, input } = vectors.resize;
  assertClose(upscaleBicubic(input, width, height, factor), vectors.resize.bicubic, { atol: 2e-4, rtol: 1e-6 }, 'bicubic');
  assertClose(upscaleNearest(input, width, height, factor), vectors.resize.nearest, { atol: 0, rtol: 0 }, 'nearest');
  // A constant image stays constant (the weights sum to 1), and a ramp's interior is reproduced.
  const flat = upscaleBicubic(new Float64Array(20).fill(7), 5, 4, 4);
  assert.ok(flat.every((v) => Math.abs(v - 7) < 1e-12));
  assert.equal([...toUint8([-3, 0.49, 0.5, 254.5, 300])], [0, 0, 1, 255, 255]);
});

test('Jacobi eigen-decomposition and matrix square root are accurate', () => {
  for (const n of [1, 2, 7, 32]) {
    const matrix = randomSpd(n, n);
    const { values, vectors: v } = symmetricEigen(matrix, n);
    // V diag(values) V^T rebuilds the matrix, and V is orthogonal.
    const rebuilt = new Float64Array(n * n);
    const gram = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) {
      rebuilt[i * n + j] += v[i * n + k] * values[k] * v[j * n + k];
      gram[i * n + j] += v[k * n + i] * v[k * n + j];
    }
    assertClose(rebuilt, matrix, { atol: 1e-12, rtol: 1e-12 }, `eigen rebuild ${n}`);
    assertClose(gram, Float64Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 1 : 0)), { atol: 1e-12, rtol: 0 }, `orthogonal ${n}`);
    const root = sqrtmSymmetric(matrix, n);
    assertClose(multiply(root, root, n), matrix, { atol: 1e-11, rtol: 1e-11 }, `sqrtm squared ${n}`);
  }
  // A known root: [[5, 4], [4, 5]] = R^2 with R = [[2, 1], [1, 2]].
  assertClose(sqrtmSymmetric([5, 4, 4, 5], 2), [2, 1, 1, 2], { atol: 1e-14, rtol: 0 }, 'sqrtm 2x2');
  // sqrt is not Lipschitz at 0: a singular matrix's zero eigenvalues, known only to ~1e-16, give
  // root entries known only to ~1e-8, in numpy as here.
  for (const item of vectors.frechet) {
    const atol = item.rank < item.n ? 1e-7 : 1e-10;
    assertClose(sqrtmSymmetric(item.cov1, item.n), item.sqrtm1, { atol, rtol: atol }, `sqrtm vs numpy n=${item.n} rank=${item.rank}`);
  }
});

test('Fréchet distance of known Gaussians', () => {
  // Same Gaussian: 0. Shifted means only: the squared distance of the means.
  const identity = [1, 0, 0, 1];
  assert.ok(Math.abs(frechetDistance(gaussian([0, 0], identity), gaussian([0, 0], identity))) < 1e-12);
  assert.ok(Math.abs(frechetDistance(gaussian([1, 2], identity), gaussian([4, -2], identity)) - 25) < 1e-12);
  // Commuting (diagonal) covariances: sum of (sqrt(a) - sqrt(b))^2 per axis.
  const diagonal = frechetDistance(gaussian([0, 0, 0], [4, 0, 0, 0, 9, 0, 0, 0, 1]), gaussian([0, 0, 0], [1, 0, 0, 0, 1, 0, 0, 0, 16]));
  assert.ok(Math.abs(diagonal - ((2 - 1) ** 2 + (3 - 1) ** 2 + (1 - 4) ** 2)) < 1e-12);
  // Non-commuting 2x2: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) for M = S1^(1/2) S2 S1^(1/2).
  const s1 = [2, 1, 1, 2];
  const s2 = [3, 0, 0, 1];
  const m = multiply(multiply(sqrtmSymmetric(s1, 2), s2, 2), sqrtmSymmetric(s1, 2), 2);
  const crossTrace = Math.sqrt(m[0] + m[3] + 2 * Math.sqrt(m[0] * m[3] - m[1] * m[2]));
  assert.ok(Math.abs(frechetDistance(gaussian([0, 0], s1), gaussian([0, 0], s2)) - (4 + 4 - 2 * crossTrace)) < 1e-12);
  // tr(S1 S2) = 8 here and det(S1 S2) = 9, so the cross trace is sqrt(8 + 2 * 3) by the same identity.
  assert.ok(Math.abs(crossTrace - Math.sqrt(14)) < 1e-12);
  for (const item of vectors.frechet) {
    const distance = frechetDistance(gaussian(item.mean1, item.cov1), gaussian(item.mean2, item.cov2));
    const tolerance = item.rank < item.n ? 1e-6 : 1e-9;
    assert.ok(Math.abs(distance - item.distance) < tolerance * Math.max(1, item.distance), `n=${item.n}: ${distance} vs ${item.distance}`);
  }
  assert.ok(Number.isNaN(frechetDistance(gaussian([0], [1], 1), gaussian([0], [1]))));
});

test('feature statistics match numpy: mean, covariance, Fréchet distance, pairwise distance', () => {
  const { dim, a, countA, b, countB } = vectors.features;
  const fitted = fitGaussian(a, countA, dim);
  assertClose(fitted.mean, vectors.features.meanA, { atol: 1e-12, rtol: 1e-12 }, 'mean');
  assertClose(fitted.covariance, vectors.features.covA, { atol: 1e-12, rtol: 1e-12 }, 'covariance');
  const distance = frechetDistance(fitted, fitGaussian(b, countB, dim));
  assert.ok(Math.abs(distance - vectors.features.distance) < 1e-9, `${distance} vs ${vectors.features.distance}`);
  assert.ok(Math.abs(meanPairwiseDistance(a, countA, dim) - vectors.features.meanPairwiseA) < 1e-12);
  // Samples of N(0, I) and N(0, 4 I) in 4-d: the distance approaches 4 (2 - 1)^2 = 4 as they grow.
  const rng = mulberry32(5);
  const count = 20000;
  const wide = randn(count * 4, rng).map((v) => 2 * v);
  const sampled = frechetDistance(fitGaussian(randn(count * 4, rng), count, 4), fitGaussian(wide, count, 4));
  assert.ok(Math.abs(sampled - 4) < 0.15, `sampled ${sampled}`);
  // Mode collapse: identical rows have zero diversity.
  assert.is(meanPairwiseDistance(new Float64Array(12).fill(3), 4, 3), 0);
  assert.ok(Number.isNaN(meanPairwiseDistance([1, 2], 1, 2)));
});

test.run();
