// GPU element-wise ops and reductions against the float64 references, with analytic reference
// gradients on large shapes and central differences on small ones.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, testEngine } from './helpers/engine.ts';
import { checkOp } from './helpers/gpu-check.ts';
import { checkTorchCases } from './helpers/torch-check.ts';
import * as ref from './helpers/reference.ts';
import { add, addInPlace, axpby, fillInPlace, leakyRelu, movingAverageInPlace, mul, prelu, scale, sigmoid, tanh } from '../engine/ops/elementwise.ts';
import { mean, reduceParts, sum, sumChannels } from '../engine/ops/reduce.ts';
import { backward } from '../engine/ops/backward.ts';

// Sizes that are not a multiple of 4 run the scalar kernels (elementwise.wgsl), the others their vec4
// twins (elementwise_vec4.wgsl).
const shapes = [[1, 1, 1, 1], [2, 3, 5, 7], [3, 70001], [2, 4, 6, 10], [4, 70001]];

for (const shape of shapes) {
  const label = shape.join('x');
  const one = [{ shape }];
  const two = [{ shape }, { shape }];
  test(`activations ${label}`, async () => {
    const engine = await testEngine();
    await checkOp(engine, {
      name: 'leakyRelu', inputs: one, gpu: (_, [x]) => leakyRelu(x, 0.2),
      reference: ([x]) => ref.leakyReluForward(x, 0.2), referenceBackward: ([x], g) => [ref.leakyReluBackward(g, x, 0.2)],
    });
    await checkOp(engine, {
      name: 'tanh', inputs: one, gpu: (_, [x]) => tanh(x),
      reference: ([x]) => ref.tanhForward(x), referenceBackward: ([x], g) => [ref.tanhBackward(g, ref.tanhForward(x))],
    });
    await checkOp(engine, {
      name: 'sigmoid', inputs: one, gpu: (_, [x]) => sigmoid(x),
      reference: ([x]) => ref.sigmoidForward(x), referenceBackward: ([x], g) => [ref.sigmoidBackward(g, ref.sigmoidForward(x))],
    });
  });
  test(`add, mul, axpby, scale ${label}`, async () => {
    const engine = await testEngine();
    await checkOp(engine, { name: 'add', inputs: two, gpu: (_, [a, b]) => add(a, b), reference: ([a, b]) => ref.addForward(a, b), referenceBackward: (_, g) => [g, g] });
    await checkOp(engine, {
      name: 'mul', inputs: two, gpu: (_, [a, b]) => mul(a, b),
      reference: ([a, b]) => ref.mulForward(a, b), referenceBackward: ([a, b], g) => { const r = ref.mulBackward(g, a, b); return [r.gradA, r.gradB]; },
    });
    await checkOp(engine, {
      name: 'axpby', inputs: two, gpu: (_, [a, b]) => axpby(0.5, a, -2, b),
      reference: ([a, b]) => a.map((v, i) => 0.5 * v - 2 * b[i]), referenceBackward: (_, g) => [ref.scaleForward(g, 0.5), ref.scaleForward(g, -2)],
    });
    await checkOp(engine, { name: 'scale', inputs: one, gpu: (_, [x]) => scale(x, 3), reference: ([x]) => ref.scaleForward(x, 3), referenceBackward: (_, g) => [ref.scaleBackward(g, 3)] });
  });
}

test('activations by finite differences', async () => {
  const engine = await testEngine();
  const inputs = [{ shape: [2, 3, 4, 5] }];
  await checkOp(engine, { name: 'leakyRelu fd', inputs, gpu: (_, [x]) => leakyRelu(x, 0.01), reference: ([x]) => ref.leakyReluForward(x, 0.01) });
  await checkOp(engine, { name: 'tanh fd', inputs, gpu: (_, [x]) => tanh(x), reference: ([x]) => ref.tanhForward(x) });
  await checkOp(engine, { name: 'sigmoid fd', inputs, gpu: (_, [x]) => sigmoid(x), reference: ([x]) => ref.sigmoidForward(x) });
  await checkOp(engine, { name: 'scale fd', inputs, gpu: (_, [x]) => scale(x, -1.5, 2), reference: ([x]) => x.map((v) => -1.5 * v + 2) });
});

test('sigmoid and tanh saturate without NaN', async () => {
  const engine = await testEngine();
  const inputs = [{ shape: [7], data: [-1000, -90, -20, 0, 20, 90, 1000] }];
  await checkOp(engine, { name: 'sigmoid extreme', inputs, gpu: (_, [x]) => sigmoid(x), reference: ([x]) => ref.sigmoidForward(x), forwardOnly: true });
  await checkOp(engine, { name: 'tanh extreme', inputs, gpu: (_, [x]) => tanh(x), reference: ([x]) => ref.tanhForward(x), forwardOnly: true });
});

test('prelu with weight gradient', async () => {
  // The weight gradient summed as its terms are formed (sizes a multiple of 4), or from a map of them.
  for (const shape of [[2, 3, 4, 5], [2, 3, 5, 7]]) {
    await checkOp(await testEngine(), {
      name: `prelu ${shape.join('x')}`,
      inputs: [{ shape }, { shape: [1], data: [0.25] }],
      gpu: (_, [x, w]) => prelu(x, w),
      reference: ([x, w]) => ref.preluForward(x, w),
    });
  }
  // Enough values for a CPU adapter to split the sum over workgroups (reduceParts), as a GPU's does.
  const shape = [2, 4, 128, 132];
  assert.is(reduceParts(1, 2 * 4 * 128 * 132, 'cpu'), 2);
  const gpuSized = await createEngine({ seed: 31, adapterKind: 'gpu' });
  for (const engine of [await testEngine(), gpuSized]) {
    await checkOp(engine, {
      name: `prelu ${shape.join('x')} (${engine.adapterKind} parts)`,
      inputs: [{ shape }, { shape: [1], data: [0.25] }],
      gpu: (_, [x, w]) => prelu(x, w),
      reference: ([x, w]) => ref.preluForward(x, w),
      referenceBackward: ([x, w], g) => {
        const grads = ref.preluBackward(g, x, w);
        return [grads.gradInput, grads.gradWeight];
      },
    });
  }
  gpuSized.destroy();
});

test("add's backward hands dy on without a copy where it can, and never one storage to two gradients", async () => {
  const engine = await testEngine();
  const live = engine.memory().liveBytes;
  const ones = (n: number) => new Float32Array(n).fill(1);
  const [p, q] = [engine.fromArray(ones(8), [8]), engine.fromArray(ones(8), [8])];
  for (const t of [p, q]) t.requiresGrad = true;
  // Twice: the second backward adds into p.grad and q.grad in place, which two views of one dy would share.
  for (let i = 0; i < 2; i++) engine.tidy(() => backward(sum(add(p, q))));
  assert.ok(p.grad!.pooled !== q.grad!.pooled, 'separate storage');
  const [gp, gq] = await engine.read([p.grad!, q.grad!]);
  assert.equal([...gp], new Array(8).fill(2));
  assert.equal([...gq], new Array(8).fill(2));
  // add(p, p): both gradients reach one leaf; only q needing one: dy itself, no copy.
  const before = engine.dispatchCount;
  engine.tidy(() => backward(sum(add(p, p))));
  p.requiresGrad = false;
  engine.tidy(() => backward(sum(add(p, q))));
  const [gp2, gq2] = await engine.read([p.grad!, q.grad!]);
  assert.equal([...gp2], new Array(8).fill(4));
  assert.equal([...gq2], new Array(8).fill(3));
  // add, sum, seed, sum's backward (broadcast), one copy, two adds into p.grad (one after the other: one
  // target); then add, sum, seed, broadcast, one add. Copying dy for every gradient made 14.
  assert.is(engine.dispatchCount - before, 12);
  for (const t of [p, q]) {
    t.grad!.dispose();
    t.grad = null;
    t.dispose();
  }
  assert.is(engine.memory().liveBytes, live);
});

test('addInPlace and fillInPlace write the target in place, over scalars and over vec4s', async () => {
  const engine = await testEngine();
  for (const size of [4 * 1000, 4001]) {
    const start = Float32Array.from({ length: size }, (_, i) => Math.sin(i));
    const addition = Float32Array.from({ length: size }, (_, i) => Math.cos(i * 0.3));
    const target = engine.keep(engine.fromArray(start, [size]));
    const source = engine.keep(engine.fromArray(addition, [size]));
    addInPlace(target, source);
    const [actual] = await engine.read([target]);
    assert.equal(Array.from(actual), Array.from(start, (v, i) => Math.fround(v + addition[i]!)), `size ${size}`);
    fillInPlace(target, -2.5);
    assert.ok((await engine.read([target]))[0].every((v) => v === -2.5), `fill, size ${size}`);
    target.dispose();
    source.dispose();
  }
});

test('movingAverageInPlace: decay 0 copies exactly over any contents, decay d follows the recurrence', async () => {
  const engine = await testEngine();
  // 1000 over vec4s, 1001 over scalars.
  for (const size of [1000, 1001]) {
    const source = Float32Array.from({ length: size }, (_, i) => Math.sin(i) * 3);
    const target = engine.fromArray(new Float32Array(size).fill(Number.NaN), [size]);
    const live = engine.fromArray(source, [size]);
    movingAverageInPlace(target, live, 0);
    assert.equal([...(await engine.read([target]))[0]], [...source]);
    const expected = Float64Array.from(source);
    for (const [step, decay] of [0.9, 0.5, 0.99].entries()) {
      const next = Float32Array.from(source, (v) => v * (step + 2) - 1);
      engine.upload(live, next);
      movingAverageInPlace(target, live, decay);
      next.forEach((v, i) => { expected[i] = decay * expected[i] + (1 - decay) * v; });
    }
    const [actual] = await engine.read([target]);
    actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-5 * (1 + Math.abs(expected[i])), `size ${size}, element ${i}: ${v} vs ${expected[i]}`));
    target.dispose();
    live.dispose();
  }
});

test('sum, mean, per-channel sum', async () => {
  const engine = await testEngine();
  await checkOp(engine, { name: 'sum', inputs: [{ shape: [3, 1001] }], gpu: (_, [x]) => sum(x), reference: ([x]) => Float64Array.of(ref.sumForward(x)), referenceBackward: ([x], g) => [ref.sumBackward(g[0], x.length)] });
  await checkOp(engine, { name: 'mean', inputs: [{ shape: [2, 5, 7] }], gpu: (_, [x]) => mean(x), reference: ([x]) => Float64Array.of(ref.meanForward(x)) });
  await checkOp(engine, {
    name: 'sumChannels', inputs: [{ shape: [3, 5, 4, 3] }], gpu: (_, [x]) => sumChannels(x),
    reference: ([x]) => ref.sumAxesForward(x, [3, 5, 4, 3], [0, 2, 3]).output,
  });
  // Runs a multiple of 4 long (the vec4 kernel), longer than a workgroup's 256 threads.
  await checkOp(engine, { name: 'sum (vec4)', inputs: [{ shape: [4, 1000] }], gpu: (_, [x]) => sum(x), reference: ([x]) => Float64Array.of(ref.sumForward(x)), forwardOnly: true });
  await checkOp(engine, {
    name: 'sumChannels (vec4)', inputs: [{ shape: [2, 6, 16, 20] }], gpu: (_, [x]) => sumChannels(x),
    reference: ([x]) => ref.sumAxesForward(x, [2, 6, 16, 20], [0, 2, 3]).output, forwardOnly: true,
  });
  // At most 64 values per output: one thread each (main_per_thread), as for a dense layer's bias
  // gradient; the last with more outputs than one row of workgroups holds (a 2-D grid).
  await checkOp(engine, {
    name: 'sumChannels (a thread per output)', inputs: [{ shape: [16, 300, 1, 1] }], gpu: (_, [x]) => sumChannels(x),
    reference: ([x]) => ref.sumAxesForward(x, [16, 300, 1, 1], [0, 2, 3]).output,
  });
  await checkOp(engine, { name: 'sum (a thread)', inputs: [{ shape: [4, 9] }], gpu: (_, [x]) => sum(x), reference: ([x]) => Float64Array.of(ref.sumForward(x)), forwardOnly: true });
  const outputs = 65_535 * 64 + 70;
  await checkOp(engine, {
    name: 'sumChannels (a thread per output, 2-D grid)', inputs: [{ shape: [1, outputs, 1, 1] }], gpu: (_, [x]) => sumChannels(x),
    reference: ([x]) => x, forwardOnly: true,
  });
});

test('reductions split over workgroups (a GPU-sized engine) agree with the reference', async () => {
  // An engine sized for a GPU splits each output's values into parts of >= 4096 and adds the parts.
  const engine = await createEngine({ seed: 77, adapterKind: 'gpu' });
  try {
    assert.is(reduceParts(1, 100_003, 'gpu'), 24);
    assert.is(reduceParts(5, 12_261, 'gpu'), 2);
    assert.is(reduceParts(5, 12_261, 'cpu'), 1);
    // Forward only: the backward is a broadcast, checked above.
    await checkOp(engine, { name: 'sum', inputs: [{ shape: [7, 14_287] }], gpu: (_, [x]) => sum(x), reference: ([x]) => Float64Array.of(ref.sumForward(x)), forwardOnly: true });
    await checkOp(engine, { name: 'mean', inputs: [{ shape: [100_003] }], gpu: (_, [x]) => mean(x), reference: ([x]) => Float64Array.of(ref.meanForward(x)), forwardOnly: true });
    await checkOp(engine, {
      name: 'sumChannels', inputs: [{ shape: [3, 5, 61, 67] }], gpu: (_, [x]) => sumChannels(x),
      reference: ([x]) => ref.sumAxesForward(x, [3, 5, 61, 67], [0, 2, 3]).output, forwardOnly: true,
    });
    // The same over vec4s (runs a multiple of 4 long).
    await checkOp(engine, { name: 'sum (vec4)', inputs: [{ shape: [4, 25_000] }], gpu: (_, [x]) => sum(x), reference: ([x]) => Float64Array.of(ref.sumForward(x)), forwardOnly: true });
    await checkOp(engine, {
      name: 'sumChannels (vec4)', inputs: [{ shape: [3, 5, 64, 68] }], gpu: (_, [x]) => sumChannels(x),
      reference: ([x]) => ref.sumAxesForward(x, [3, 5, 64, 68], [0, 2, 3]).output, forwardOnly: true,
    });
  } finally {
    engine.destroy();
  }
});

test('element-wise ops and reductions match the PyTorch vectors', async () => {
  const seen = await checkTorchCases(await testEngine(), {
    add: (t) => add(t.a, t.b),
    mul: (t) => mul(t.a, t.b),
    scale: (t, config) => scale(t.x, config.factor as number),
    leaky_relu: (t, config) => leakyRelu(t.x, config.negative_slope as number),
    prelu: (t) => prelu(t.x, t.weight),
    tanh: (t) => tanh(t.x),
    sigmoid: (t) => sigmoid(t.x),
    sum: (t) => sum(t.x),
    mean: (t) => mean(t.x),
  });
  assert.equal(seen, ['add', 'leaky_relu_0.01', 'leaky_relu_0.2', 'mean', 'mul', 'prelu', 'scale', 'sigmoid', 'sum', 'tanh']);
});

test.run();
