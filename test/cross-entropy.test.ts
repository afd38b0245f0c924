// Softmax cross-entropy on the GPU against a float64 reference (forward, analytic backward) on
// shapes from one row to many workgroups of rows, by finite differences, and for extreme logits.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testEngine } from './helpers/engine.ts';
import { checkOp } from './helpers/gpu-check.ts';
import { mulberry32, randn } from './helpers/random.ts';
import { crossEntropy } from '../engine/ops/cross-entropy.ts';
import { backward } from '../engine/ops/backward.ts';

/** Float64 mean over rows of logsumexp(x_r) - x_r[label_r]. */
function crossEntropyForward(logits: Float64Array, labels: Float64Array, classes: number): number {
  const rows = labels.length;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    const largest = Math.max(...row);
    let sum = 0;
    for (const value of row) sum += Math.exp(value - largest);
    total += largest + Math.log(sum) - row[labels[r]];
  }
  return total / rows;
}

/** d/dx of upstream * mean loss: (softmax - onehot) * upstream / rows. */
function crossEntropyBackward(logits: Float64Array, labels: Float64Array, classes: number, upstream: number): Float64Array {
  const rows = labels.length;
  const grad = new Float64Array(logits.length);
  for (let r = 0; r < rows; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    const largest = Math.max(...row);
    let sum = 0;
    for (const value of row) sum += Math.exp(value - largest);
    for (let k = 0; k < classes; k++) grad[r * classes + k] = (Math.exp(row[k] - largest) / sum - (k === labels[r] ? 1 : 0)) * upstream / rows;
  }
  return grad;
}

function labelsFor(rows: number, classes: number, seed: number): number[] {
  const rng = mulberry32(seed);
  return Array.from({ length: rows }, () => Math.floor(rng() * classes));
}

for (const [rows, classes] of [[1, 3], [5, 3], [7, 1], [4, 10], [300, 3], [1000, 7]]) {
  test(`crossEntropy [${rows}, ${classes}] against float64`, async () => {
    const labels = labelsFor(rows, classes, rows * 31 + classes);
    await checkOp(await testEngine(), {
      name: `crossEntropy ${rows}x${classes}`,
      inputs: [{ shape: [rows, classes], data: randn(rows * classes, mulberry32(rows)).map((v) => 3 * v) }, { shape: [rows], data: labels, dtype: 'i32', grad: false }],
      gpu: (_, [x, y]) => crossEntropy(x, y),
      reference: ([x, y]) => Float64Array.of(crossEntropyForward(x, y, classes)),
      referenceBackward: ([x, y], g) => [crossEntropyBackward(x, y, classes, g[0]), null],
      tolerance: { atol: 1e-5, rtol: 1e-5 },
      gradTolerance: { atol: 1e-6, rtol: 1e-4 },
    });
  });
}

test('crossEntropy backward by finite differences', async () => {
  await checkOp(await testEngine(), {
    name: 'crossEntropy fd',
    inputs: [{ shape: [6, 3] }, { shape: [6], data: [0, 1, 2, 2, 1, 0], dtype: 'i32', grad: false }],
    gpu: (_, [x, y]) => crossEntropy(x, y),
    reference: ([x, y]) => Float64Array.of(crossEntropyForward(x, y, 3)),
  });
});

test('crossEntropy is finite and exact for extreme logits', async () => {
  const logits = [1000, -1000, 0, -1000, 1000, 0, 88, 89, 90, -90, -89, -88];
  const labels = [0, 0, 2, 0];
  await checkOp(await testEngine(), {
    name: 'crossEntropy extreme',
    inputs: [{ shape: [4, 3], data: logits }, { shape: [4], data: labels, dtype: 'i32', grad: false }],
    gpu: (_, [x, y]) => crossEntropy(x, y),
    reference: ([x, y]) => Float64Array.of(crossEntropyForward(x, y, 3)),
    referenceBackward: ([x, y], g) => [crossEntropyBackward(x, y, 3, g[0]), null],
    tolerance: { atol: 1e-3, rtol: 1e-5 },
    gradTolerance: { atol: 1e-6, rtol: 1e-4 },
  });
});

test('crossEntropy matches log(K) for equal logits and rejects bad shapes', async () => {
  const engine = await testEngine();
  const logits = engine.fromArray(new Float32Array(12), [4, 3], 'f32', 'logits');
  logits.requiresGrad = true;
  const labels = engine.fromArray([0, 1, 2, 1], [4], 'i32', 'labels');
  const loss = crossEntropy(logits, labels);
  const [value] = await loss.toArray();
  assert.ok(Math.abs(value - Math.log(3)) < 1e-6);
  backward(loss);
  const [grad] = await engine.read([logits.grad!]);
  assert.ok(Math.abs(grad[0] - (1 / 3 - 1) / 4) < 1e-7);
  assert.throws(() => crossEntropy(engine.fromArray(new Float32Array(3), [3], 'f32'), labels), /logits must be \[N, K\]/);
  assert.throws(() => crossEntropy(logits, engine.fromArray([0, 1], [2], 'i32')), /labels must be i32 \[4\]/);
  for (const t of [logits, labels, loss]) t.dispose();
});

test.run();
