// matmul, linear and the transposed products behind their gradients, against the float64
// reference (analytic gradients on large awkward shapes, finite differences on tiny ones) and the
// committed PyTorch vectors.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import { gemm, linear, matmul } from '../engine/ops/matmul.ts';
import { testEngine } from './helpers/engine.ts';
import { checkTorchCases } from './helpers/torch-check.ts';
import { checkOp } from './helpers/gpu-check.ts';
import { mulberry32, randn } from './helpers/random.ts';
import * as ref from './helpers/reference.ts';

// Sums of up to 512 float32 products: allow float32 rounding of values of order sqrt(K).
const wide = { atol: 2e-4, rtol: 2e-4 };

function matmulCheck(m: number, k: number, n: number, analytic: boolean) {
  return {
    name: `matmul ${m}x${k}x${n}`,
    inputs: [{ shape: [m, k] }, { shape: [k, n] }],
    gpu: (_: Engine, [a, b]: Tensor[]) => matmul(a, b),
    reference: ([a, b]: Float64Array[]) => ref.matmulForward(a, b, m, k, n),
    referenceBackward: analytic ? ([a, b]: Float64Array[], g: Float64Array) => {
      const grads = ref.matmulBackward(g, a, b, m, k, n);
      return [grads.gradA, grads.gradB];
    } : undefined,
    tolerance: wide,
    gradTolerance: wide,
  };
}

test('matmul on tiny shapes by finite differences', async () => {
  const engine = await testEngine();
  for (const [m, k, n] of [[1, 1, 1], [5, 7, 3], [1, 9, 4], [6, 1, 5], [4, 8, 4]]) await checkOp(engine, matmulCheck(m, k, n, false));
});

test('matmul on awkward and large shapes', async () => {
  const engine = await testEngine();
  for (const [m, k, n] of [[65, 129, 33], [256, 512, 300], [3, 250, 1], [130, 2, 67]]) await checkOp(engine, matmulCheck(m, k, n, true));
});

test('gemm with both operands transposed', async () => {
  const engine = await testEngine();
  const [m, k, n] = [37, 21, 45];
  await checkOp(engine, {
    name: 'gemm A^T B^T',
    inputs: [{ shape: [k, m] }, { shape: [n, k] }],
    gpu: (_, [a, b]) => gemm(a, b, { transposeA: true, transposeB: true }),
    reference: ([a, b]) => ref.matmulForward(transpose(a, k, m), transpose(b, n, k), m, k, n),
    forwardOnly: true,
  });
});

test('linear with and without bias', async () => {
  const engine = await testEngine();
  for (const [batch, inFeatures, outFeatures, useBias] of [[1, 1, 1, true], [3, 5, 4, true], [2, 7, 3, false]] as const) {
    await checkOp(engine, {
      name: `linear ${batch}x${inFeatures}->${outFeatures}${useBias ? ' +bias' : ''}`,
      inputs: [{ shape: [batch, inFeatures] }, { shape: [outFeatures, inFeatures] }, ...(useBias ? [{ shape: [outFeatures] }] : [])],
      gpu: (_, [x, weight, bias]) => linear(x, weight, bias ?? null),
      reference: ([x, weight, bias]) => ref.linearForward(x, weight, bias ?? null, batch, inFeatures, outFeatures),
    });
  }
  const [batch, inFeatures, outFeatures] = [64, 150, 130];
  await checkOp(engine, {
    name: `linear ${batch}x${inFeatures}->${outFeatures} +bias`,
    inputs: [{ shape: [batch, inFeatures] }, { shape: [outFeatures, inFeatures] }, { shape: [outFeatures] }],
    gpu: (_, [x, weight, bias]) => linear(x, weight, bias),
    reference: ([x, weight, bias]) => ref.linearForward(x, weight, bias, batch, inFeatures, outFeatures),
    referenceBackward: ([x, weight], g) => {
      const grads = ref.linearBackward(g, x, weight, batch, inFeatures, outFeatures);
      return [grads.gradInput, grads.gradWeight, grads.gradBias];
    },
    tolerance: wide,
    gradTolerance: wide,
  });
});

test('matmul results are bit-identical run to run', async () => {
  const engine = await testEngine();
  const rng = mulberry32(3);
  const a = engine.fromArray(randn(65 * 129, rng), [65, 129]);
  const b = engine.fromArray(randn(129 * 33, rng), [129, 33]);
  const [first, second] = await engine.read([gemm(a, b), gemm(a, b)]);
  assert.equal(Array.from(first), Array.from(second));
});

test('matmul and linear match the PyTorch vectors', async () => {
  const seen = await checkTorchCases(await testEngine(), {
    matmul: (t) => matmul(t.a, t.b),
    linear: (t) => linear(t.x, t.weight, t.bias ?? null),
  });
  assert.equal(seen, ['linear', 'linear_batch1_nobias', 'matmul']);
});

function transpose(values: Float64Array, rows: number, columns: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c];
  return out;
}

test.run();
