// Activations kept for backward in f16 (engine/ops/half-storage.ts): the pack and unpack kernels
// against a float64 rounding to f16; every op that keeps an activation gives, with the engine set to
// 'f16', the gradients it gives in f32 up to f16's rounding of that activation, keeps an f16 copy
// (shared between the ops that keep the same activation) and frees it after backward; and
// runLayers (models/layer-sequence.ts) frees the intermediates the tape does not need.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testEngine } from './helpers/engine.ts';
import { mulberry32, randn, randUniform } from './helpers/random.ts';
import { exactHalfValues, halfBits, halfOfWords, halfUlp, isHalf } from './helpers/half.ts';
import { packHalf, unpackHalf } from '../engine/ops/half-storage.ts';
import { conv2d, convTranspose2d } from '../engine/ops/conv.ts';
import { batchNorm2d, batchNormActivation } from '../engine/ops/batchnorm.ts';
import { add, leakyRelu, mul, prelu } from '../engine/ops/elementwise.ts';
import { sum } from '../engine/ops/reduce.ts';
import { backward } from '../engine/ops/backward.ts';
import { parameter } from '../engine/autograd.ts';
import type { Engine, SavedActivationStorage } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import { runLayers } from '../models/layer-sequence.ts';
import { plannedPeakBytes } from '../pipeline/train/memory-plan.ts';
import { syntheticTrainOptions } from '../pipeline/commands/profile.ts';

async function roundTrip(engine: Engine, values: Float32Array): Promise<{ words: Uint32Array; back: Float32Array }> {
  const x = engine.fromArray(values, [values.length]);
  const packed = packHalf(x);
  const unpacked = unpackHalf(packed, x.shape);
  const [words, back] = await engine.read([packed, unpacked]);
  for (const t of [x, packed, unpacked]) t.dispose();
  return { words: words as Uint32Array, back: back as Float32Array };
}

test('packHalf / unpackHalf: values f16 holds come back exactly, in IEEE order two to a word; others within one f16 step', async () => {
  const engine = await testEngine();
  const rng = mulberry32(11);
  // Sizes for the per-word kernels (odd, even) and the vec4 ones, values across f16's range.
  for (const size of [1, 3, 6, 8, 4099, 4100]) {
    const exact = exactHalfValues(size, () => randn(1, rng)[0]);
    const { words, back } = await roundTrip(engine, exact);
    assert.equal(Array.from(back), Array.from(exact), `size ${size}: exact values`);
    for (let i = 0; i < size; i++) assert.is(halfOfWords(words, i), halfBits(exact[i]), `size ${size}: bits of element ${i} (${exact[i]})`);
    if (size % 2 === 1) assert.is(words[size >> 1] >>> 16, 0, `size ${size}: the last word's unused half`);

    const scales = randUniform(size, rng, -12, 12);
    const values = Float32Array.from(randn(size, rng), (v, i) => v * 2 ** scales[i]);
    const rounded = (await roundTrip(engine, values)).back;
    for (let i = 0; i < size; i++) {
      assert.ok(isHalf(rounded[i]), `size ${size}: ${rounded[i]} is not an f16 value`);
      assert.ok(Math.abs(rounded[i] - values[i]) <= halfUlp(values[i]), `size ${size}: ${values[i]} came back as ${rounded[i]}`);
    }
  }
});

test('packHalf stores values beyond f16 as +-65504 (pack2x16float leaves them undefined)', async () => {
  const engine = await testEngine();
  const { back } = await roundTrip(engine, Float32Array.of(1e6, -7e4, 65519, 3.4e38, -3.4e38, 1, 2, 3));
  assert.equal(Array.from(back), [65504, -65504, 65504, 65504, -65504, 1, 2, 3]);
});

test('unpackHalf refuses a buffer that does not hold the shape', async () => {
  const engine = await testEngine();
  const x = engine.fromArray(new Float32Array(10), [10]);
  const packed = packHalf(x);
  assert.throws(() => unpackHalf(packed, [2, 6]), /does not hold \[2,6\] as f16/);
  assert.throws(() => unpackHalf(x, [10]), /does not hold/);
  x.dispose();
  packed.dispose();
});

interface OpCase {
  name: string;
  /** Leaf shapes (and values: activation-like for x, positive for BN scales). */
  leaves: Array<{ shape: number[]; values?: (n: number) => Float64Array }>;
  run: (leaves: Tensor[]) => Tensor;
}

const rngOps = mulberry32(23);
const positive = (n: number) => randUniform(n, rngOps, 0.5, 1.5);

const opCases: OpCase[] = [
  { name: 'conv2d', leaves: [{ shape: [2, 6, 20, 20] }, { shape: [5, 6, 3, 3] }, { shape: [5] }], run: ([x, w, b]) => conv2d(x, w, b, { stride: 1, padding: 1 }) },
  { name: 'conv2d s2 + LeakyReLU in its stores', leaves: [{ shape: [2, 6, 32, 32] }, { shape: [4, 6, 4, 4] }, { shape: [4] }], run: ([x, w, b]) => conv2d(x, w, b, { stride: 2, padding: 1, activation: { leakyRelu: 0.2 } }) },
  { name: 'convTranspose2d', leaves: [{ shape: [2, 8, 16, 16] }, { shape: [8, 3, 4, 4] }], run: ([x, w]) => convTranspose2d(x, w, null, { stride: 2, padding: 1 }) },
  { name: 'batchNormActivation (LeakyReLU)', leaves: [{ shape: [4, 3, 24, 24] }, { shape: [3], values: positive }, { shape: [3] }],
    run: ([x, w, b]) => batchNormActivation(x, w, b, ...runningStats(x.engine, 3), { training: true }, { leakyRelu: 0.2 }) },
  { name: 'batchNormActivation (PReLU)', leaves: [{ shape: [4, 3, 24, 24] }, { shape: [3], values: positive }, { shape: [3] }, { shape: [1], values: () => Float64Array.of(0.25) }],
    run: ([x, w, b, a]) => batchNormActivation(x, w, b, ...runningStats(x.engine, 3), { training: true }, { prelu: a }) },
  { name: 'batchNorm2d', leaves: [{ shape: [4, 3, 24, 24] }, { shape: [3], values: positive }, { shape: [3] }],
    run: ([x, w, b]) => batchNorm2d(x, w, b, ...runningStats(x.engine, 3), { training: true }) },
  { name: 'leakyRelu', leaves: [{ shape: [3, 4, 30, 30] }], run: ([x]) => leakyRelu(x, 0.2) },
  { name: 'prelu', leaves: [{ shape: [3, 4, 30, 30] }, { shape: [1], values: () => Float64Array.of(0.25) }], run: ([x, a]) => prelu(x, a) },
];

function runningStats(engine: Engine, channels: number): [Tensor, Tensor] {
  return [engine.fromArray(new Float32Array(channels), [channels]), engine.fromArray(new Float32Array(channels).fill(1), [channels])];
}

/** Gradients of sum(op(leaves) * r) under `mode`, and whether the tape kept an f16 (u32) copy. */
async function gradients(engine: Engine, c: OpCase, values: Float64Array[], weights: Float64Array, mode: SavedActivationStorage) {
  engine.savedActivations = mode;
  try {
    const leaves = c.leaves.map((leaf, i) => parameter(engine.fromArray(Float32Array.from(values[i]), leaf.shape)));
    let keptHalf = false;
    engine.tidy(() => {
      const out = c.run(leaves);
      keptHalf = out.gradFn!.saved.some((t) => t.dtype === 'u32');
      backward(sum(mul(out, engine.fromArray(Float32Array.from(weights), out.shape))));
    });
    const grads = (await engine.read(leaves.map((t) => t.grad!))).map((g) => Float64Array.from(g));
    for (const leaf of leaves) leaf.dispose();
    return { grads, keptHalf };
  } finally {
    engine.savedActivations = 'f32';
  }
}

/** Elements of `actual` off from `expected` by more than 2e-3 of expected's rms plus 2e-3 of themselves. */
function outliers(actual: Float64Array, expected: Float64Array): number {
  const rms = Math.sqrt(expected.reduce((total, v) => total + v * v, 0) / expected.length);
  return expected.filter((v, i) => Math.abs(actual[i] - v) > 2e-3 * (rms + Math.abs(v))).length;
}

test('every op that keeps an activation: f16 copy on the tape, gradients as in f32 up to f16 rounding, nothing left behind', async () => {
  const engine = await testEngine();
  for (const c of opCases) {
    const values = c.leaves.map((leaf, i) => leaf.values?.(leaf.shape.reduce((a, b) => a * b, 1)) ?? randn(leaf.shape.reduce((a, b) => a * b, 1), rngOps).map((v) => (i === 0 ? 2 * v : 0.3 * v)));
    const live = engine.memory().liveBytes;
    const weights = randn(outputSize(engine, c, values), rngOps);
    const inF32 = await gradients(engine, c, values, weights, 'f32');
    const inF16 = await gradients(engine, c, values, weights, 'f16');
    assert.not.ok(inF32.keptHalf, `${c.name}: f32 mode kept an f16 copy`);
    assert.ok(inF16.keptHalf, `${c.name}: f16 mode kept no f16 copy`);
    assert.is(engine.memory().liveBytes, live, `${c.name}: live bytes after backward`);
    inF16.grads.forEach((grad, i) => {
      // f16 keeps 11 significant bits: each kept value is off by at most 2^-12 of itself. Where an
      // activation's input lies that close to its kink, the rounding may cross it and take the other
      // slope: a few such elements per case.
      const off = outliers(grad, inF32.grads[i]);
      assert.ok(off <= Math.max(2, grad.length / 1000), `${c.name}: gradient ${i}: ${off} of ${grad.length} elements differ from f32's`);
    });
  }
});

function outputSize(engine: Engine, c: OpCase, values: Float64Array[]): number {
  return engine.tidy(() => {
    const out = c.run(c.leaves.map((leaf, i) => engine.fromArray(Float32Array.from(values[i]), leaf.shape)));
    return out.size;
  });
}

test('ops keeping the same activation share one f16 copy, freed when the last of them has run backward', async () => {
  const engine = await testEngine();
  engine.savedActivations = 'f16';
  try {
    const rng = mulberry32(5);
    const x = engine.fromArray(Float32Array.from(randn(2 * 32 * 32, rng)), [2, 1, 32, 32]); // too small to be kept in f16
    const w1 = parameter(engine.fromArray(Float32Array.from(randn(8 * 4 * 4, rng)), [8, 1, 4, 4]));
    const w2 = parameter(engine.fromArray(Float32Array.from(randn(8 * 8 * 3 * 3, rng)), [8, 8, 3, 3]));
    const live = engine.memory().liveBytes;
    engine.tidy(() => {
      // The first conv's LeakyReLU'd output is kept by it (for the activation's gradient) and by the second conv.
      const h = conv2d(x, w1, null, { stride: 2, padding: 1, activation: { leakyRelu: 0.2 } });
      const out = conv2d(h, w2, null, { padding: 1 });
      const copyOfH = h.gradFn!.saved.find((t) => t.dtype === 'u32');
      assert.ok(copyOfH, 'the first conv kept no f16 copy of its output');
      assert.ok(out.gradFn!.saved.includes(copyOfH!), 'the second conv made a copy of its own');
      backward(sum(out));
      assert.ok(copyOfH!.isDisposed, 'the shared copy outlived backward');
    });
    for (const t of [w1, w2]) t.grad!.dispose();
    assert.is(engine.memory().liveBytes, live);
    for (const t of [x, w1, w2]) t.dispose();
  } finally {
    engine.savedActivations = 'f32';
  }
});

test('a conv whose weight takes no gradient (a frozen model) keeps no input for backward, in either setting', async () => {
  const engine = await testEngine();
  for (const mode of ['f32', 'f16'] as const) {
    engine.savedActivations = mode;
    try {
      const x = parameter(engine.fromArray(new Float32Array(2 * 4 * 32 * 32).fill(0.5), [2, 4, 32, 32]));
      const frozen = engine.fromArray(new Float32Array(3 * 4 * 3 * 3).fill(0.1), [3, 4, 3, 3]);
      engine.tidy(() => {
        for (const out of [conv2d(x, frozen, null, { padding: 1 }), convTranspose2d(x, engine.view(frozen, [4, 3, 3, 3]), null, { padding: 1 })]) {
          const { saved, inputs, name } = out.gradFn!;
          assert.ok(saved.length === 1 && saved[0] === inputs[1], `${mode}: ${name} keeps ${saved.map(String)}, not just its weight`);
        }
      });
      x.dispose();
      frozen.dispose();
    } finally {
      engine.savedActivations = 'f32';
    }
  }
});

test('runLayers frees each intermediate the tape does not keep as soon as the next layer has read it', async () => {
  const engine = await testEngine();
  const rng = mulberry32(7);
  const x = engine.fromArray(Float32Array.from(randn(2 * 3 * 8 * 8, rng)), [2, 3, 8, 8]);
  const w = parameter(engine.fromArray(Float32Array.from(randn(3 * 3 * 3 * 3, rng)), [3, 3, 3, 3]));
  const seen: Tensor[] = [];
  const note = (t: Tensor) => (seen.push(t), t);
  engine.tidy(() => {
    const out = runLayers(x, [
      (h) => note(leakyRelu(h, 0.2)), // kept by the next layer's conv
      (h) => note(add(note(conv2d(h, w, null, { padding: 1 })), h)), // add keeps nothing
      (h) => note(conv2d(h, w, null, { padding: 1 })),
      (h) => note(add(h, h)),
    ]);
    const [first, inner, second, third] = seen;
    assert.not.ok(x.isDisposed, "the caller's input was freed");
    assert.not.ok(first.isDisposed || second.isDisposed, 'an intermediate the tape keeps was freed');
    assert.ok(inner.isDisposed, 'a tensor made inside a layer that nothing keeps outlived its layer');
    assert.ok(third.isDisposed, 'an intermediate that nothing keeps outlived the next layer');
    assert.not.ok(out.isDisposed);
    backward(sum(out));
    assert.ok(first.isDisposed && second.isDisposed, 'kept intermediates outlived backward');
  });
  w.grad!.dispose();
  x.dispose();
  w.dispose();
});

test('memory plans: the paper models at their training batches fit in less with f16 saved activations', async () => {
  const peak = async (model: 'cgan' | 'srgan', mode: SavedActivationStorage) =>
    plannedPeakBytes({ ...syntheticTrainOptions(model, 'paper', model === 'cgan' ? 64 : 16, 0, false), savedActivations: mode, plannedFor: 'cpu' }, model === 'cgan' ? 64 : 16);
  for (const model of ['cgan', 'srgan'] as const) {
    const [f32, f16] = [await peak(model, 'f32'), await peak(model, 'f16')];
    assert.ok(f16 < 0.92 * f32, `${model}: f16 plan ${(f16 / 2 ** 20).toFixed(1)} MiB against f32 ${(f32 / 2 ** 20).toFixed(1)} MiB`);
  }
});

test.run();
