// BatchNorm2d on the GPU against the float64 reference (train and eval, forward, gradients and the
// in-place running statistics) on awkward shapes, against the PyTorch vectors, and for leaks.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, testEngine } from './helpers/engine.ts';
import { checkOp } from './helpers/gpu-check.ts';
import { assertClose } from './helpers/finite-diff.ts';
import * as ref from './helpers/reference.ts';
import type { Shape4 } from './helpers/reference.ts';
import { mulberry32, randn, randUniform } from './helpers/random.ts';
import { loadOpsVectors, shape4, tensorValues } from './helpers/torch-vectors.ts';
import { batchNorm2d, batchNormParts, elementwiseLaunch } from '../engine/ops/batchnorm.ts';
import { backward } from '../engine/ops/backward.ts';
import { noGrad } from '../engine/autograd.ts';
import { mul } from '../engine/ops/elementwise.ts';
import { sum } from '../engine/ops/reduce.ts';
import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';

// Batch 1 with space, odd channels, 1x1 space with N > 1 (and N > 256 lanes), planes that wrap the
// 256-lane cursor unevenly (323, 300) or exactly (256), larger ones, a plane of 2304 (three
// workgroups of threads walking four pixels each), planes of 64-255 elements, one workgroup each (576:
// 144 vec4s, 40 threads, the last of their four steps part-empty; 125 scalars, 32 threads), and a batch
// over a grid dimension's 65535 workgroups.
const shapes: Shape4[] = [
  [1, 5, 2, 3], [3, 7, 5, 5], [6, 4, 1, 1], [300, 3, 1, 1], [2, 3, 17, 19], [5, 2, 3, 100], [2, 2, 16, 16], [8, 16, 32, 32], [2, 3, 48, 48],
  [3, 4, 24, 24], [2, 3, 5, 25], [65536, 2, 1, 1],
];

test('element-wise BatchNorm passes: planes of 64 elements or more on a plane grid, smaller ones and batches past 65535 on a linear grid', () => {
  assert.equal(elementwiseLaunch(16, 64, 576), { vec4: true, workgroups: [1, 64, 16], overrides: { PLANE_GRID: 1, ELEMENTWISE_THREADS: 40 } });
  assert.equal(elementwiseLaunch(16, 64, 96 * 96), { vec4: true, workgroups: [3, 64, 16], overrides: { PLANE_GRID: 1, ELEMENTWISE_THREADS: 256 } });
  assert.equal(elementwiseLaunch(2, 3, 5 * 25), { vec4: false, workgroups: [1, 3, 2], overrides: { PLANE_GRID: 1, ELEMENTWISE_THREADS: 32 } });
  assert.equal(elementwiseLaunch(64, 512, 16).overrides, { PLANE_GRID: 0, ELEMENTWISE_THREADS: 256 });
  assert.equal(elementwiseLaunch(65536, 2, 256).overrides, { PLANE_GRID: 0, ELEMENTWISE_THREADS: 256 });
});

function channelInputs(shape: Shape4, seed: number) {
  const rng = mulberry32(seed);
  const channels = shape[1];
  return [
    { shape: [...shape], data: randn(shape[0] * channels * shape[2] * shape[3], rng).map((v) => 3 * v + 0.5) },
    { shape: [channels], data: randUniform(channels, rng, 0.5, 1.5) },
    { shape: [channels], data: randn(channels, rng) },
    { shape: [channels], data: randn(channels, rng), grad: false },
    { shape: [channels], data: randUniform(channels, rng, 0.5, 2), grad: false },
  ];
}

for (const shape of shapes) {
  test(`batchNorm2d train ${shape.join('x')}`, async () => {
    await checkOp(await testEngine(), {
      name: `batchNorm2d train ${shape}`,
      inputs: channelInputs(shape, 11),
      gpu: (_, [x, w, b, rm, rv]) => batchNorm2d(x, w, b, rm, rv, { training: true }),
      reference: ([x, w, b, rm, rv]) => ref.batchNorm2dTrainForward(x, shape, w, b, rm, rv).output,
      referenceBackward: ([x, w, b, rm, rv], g) => {
        const forward = ref.batchNorm2dTrainForward(x, shape, w, b, rm, rv);
        const grads = ref.batchNorm2dTrainBackward(g, x, shape, w, forward.mean, forward.variance);
        return [grads.gradInput, grads.gradWeight, grads.gradBias, null, null];
      },
      tolerance: { atol: 1e-4, rtol: 1e-4 },
      gradTolerance: { atol: 2e-4, rtol: 1e-3 },
    });
  });
  test(`batchNorm2d eval ${shape.join('x')}`, async () => {
    await checkOp(await testEngine(), {
      name: `batchNorm2d eval ${shape}`,
      inputs: channelInputs(shape, 12),
      gpu: (_, [x, w, b, rm, rv]) => batchNorm2d(x, w, b, rm, rv, { training: false }),
      reference: ([x, w, b, rm, rv]) => ref.batchNorm2dEvalForward(x, shape, w, b, rm, rv),
      referenceBackward: ([x, w, b, rm, rv], g) => {
        const grads = ref.batchNorm2dEvalBackward(g, x, shape, w, rm, rv);
        return [grads.gradInput, grads.gradWeight, grads.gradBias, null, null];
      },
    });
  });
}

test('batchNorm2d backward by finite differences', async () => {
  const shape: Shape4 = [2, 3, 2, 3];
  await checkOp(await testEngine(), {
    name: 'batchNorm2d train fd',
    inputs: channelInputs(shape, 13),
    gpu: (_, [x, w, b, rm, rv]) => batchNorm2d(x, w, b, rm, rv, { training: true }),
    reference: ([x, w, b, rm, rv]) => ref.batchNorm2dTrainForward(x, shape, w, b, rm, rv).output,
  });
});

/** Runs a train-mode step and returns output, running stats (after the in-place update) and grads. */
async function trainStep(engine: Engine, shape: Shape4, values: Float64Array[], upstream: Float64Array, options: { momentum?: number; eps?: number } = {}) {
  const [x, w, b, rm, rv] = values.map((data, i) => engine.fromArray(data, i === 0 ? shape : [shape[1]]));
  for (const t of [x, w, b]) t.requiresGrad = true;
  const out = batchNorm2d(x, w, b, rm, rv, { training: true, ...options });
  const g = engine.fromArray(upstream, shape);
  const loss = sum(mul(out, g));
  backward(loss);
  const read = await engine.read([out, rm, rv, x.grad!, w.grad!, b.grad!]);
  for (const t of [x, w, b, rm, rv, out, g, loss]) t.dispose();
  return read;
}

test('batchNorm2d running statistics update in place', async () => {
  const engine = await testEngine();
  const shape: Shape4 = [4, 5, 3, 2];
  const inputs = channelInputs(shape, 14).map((input) => Float64Array.from(Float32Array.from(input.data)));
  const upstream = Float64Array.from(Float32Array.from(randn(4 * 5 * 3 * 2, mulberry32(3))));
  const [, runningMean, runningVar] = await trainStep(engine, shape, inputs, upstream, { momentum: 0.3 });
  const expected = ref.batchNorm2dTrainForward(inputs[0], shape, inputs[1], inputs[2], inputs[3], inputs[4], { momentum: 0.3 });
  assertClose(runningMean, expected.runningMean, { atol: 1e-5, rtol: 1e-5 }, 'running mean');
  assertClose(runningVar, expected.runningVar, { atol: 1e-5, rtol: 1e-5 }, 'running var');
});

for (const [offset, spread] of [[1000, 1], [1e4, 0.05]]) {
  test(`batchNorm2d variance survives a large mean (${offset} +- ${spread})`, async () => {
    const engine = await testEngine();
    const shape: Shape4 = [16, 2, 32, 32];
    const rng = mulberry32(5);
    const x = Float64Array.from(Float32Array.from(randn(16 * 2 * 32 * 32, rng).map((v) => offset + spread * v)));
    const inputs = [x, Float64Array.of(1, 1), Float64Array.of(0, 0), Float64Array.of(0, 0), Float64Array.of(1, 1)];
    const [output, , runningVar] = await trainStep(engine, shape, inputs, new Float64Array(x.length));
    const expected = ref.batchNorm2dTrainForward(x, shape, inputs[1], inputs[2], inputs[3], inputs[4]);
    // The f32 mean itself is off by up to half an ulp of the offset, which the output divides by std.
    assertClose(output, expected.output, { atol: Math.max(2e-3, (offset * 2 ** -23) / spread), rtol: 0 }, 'normalised output');
    assertClose(runningVar, expected.runningVar, { atol: 0, rtol: 1e-4 }, 'running var');
  });
}

test('batchNorm2d with its per-channel sums split into parts (a GPU-sized engine): outputs, gradients, running statistics', async () => {
  const engine = await createEngine({ seed: 32, adapterKind: 'gpu' });
  try {
    // 4 parts of 4 images.
    const shape: Shape4 = [16, 2, 32, 32];
    assert.is(batchNormParts(16, 2, 1024, 'gpu').parts, 4);
    const inputs = channelInputs(shape, 16).map((input) => Float64Array.from(Float32Array.from(input.data)));
    const upstream = Float64Array.from(Float32Array.from(randn(inputs[0].length, mulberry32(6))));
    const [output, runningMean, runningVar, gradX, gradWeight, gradBias] = await trainStep(engine, shape, inputs, upstream, { momentum: 0.3 });
    const expected = ref.batchNorm2dTrainForward(inputs[0], shape, inputs[1], inputs[2], inputs[3], inputs[4], { momentum: 0.3 });
    const grads = ref.batchNorm2dTrainBackward(upstream, inputs[0], shape, inputs[1], expected.mean, expected.variance);
    const tolerance = { atol: 1e-4, rtol: 1e-4 };
    assertClose(output, expected.output, tolerance, 'output');
    assertClose(runningMean, expected.runningMean, tolerance, 'running mean');
    assertClose(runningVar, expected.runningVar, tolerance, 'running var');
    assertClose(gradBias, grads.gradBias, { atol: 1e-3, rtol: 1e-4 }, 'grad bias');
    assertClose(gradWeight, grads.gradWeight, { atol: 1e-3, rtol: 1e-4 }, 'grad weight');
    assertClose(gradX, grads.gradInput, { atol: 2e-4, rtol: 1e-3 }, 'grad x');
    // A mean of 1e4 with std 0.05, as above: the parts merge statistics shifted by the same first element.
    const x = Float64Array.from(Float32Array.from(randn(16 * 2 * 32 * 32, mulberry32(5)).map((v) => 1e4 + 0.05 * v)));
    const offset = [x, Float64Array.of(1, 1), Float64Array.of(0, 0), Float64Array.of(0, 0), Float64Array.of(1, 1)];
    const [offsetOutput, , offsetVar] = await trainStep(engine, shape, offset, new Float64Array(x.length));
    const offsetExpected = ref.batchNorm2dTrainForward(x, shape, offset[1], offset[2], offset[3], offset[4]);
    assertClose(offsetOutput, offsetExpected.output, { atol: Math.max(2e-3, (1e4 * 2 ** -23) / 0.05), rtol: 0 }, 'normalised output');
    assertClose(offsetVar, offsetExpected.runningVar, { atol: 0, rtol: 1e-4 }, 'running var');
  } finally {
    engine.destroy();
  }
});

test('batchNorm2d PyTorch vectors', async () => {
  const engine = await testEngine();
  const tolerance = { atol: 2e-5, rtol: 2e-5 };
  for (const [name, vector] of Object.entries(loadOpsVectors().cases)) {
    if (vector.op !== 'batch_norm_train' && vector.op !== 'batch_norm_eval') continue;
    const shape = shape4(vector.inputs['x']!);
    const values = ['x', 'weight', 'bias', 'running_mean', 'running_var'].map((key) => tensorValues(vector.inputs[key]!));
    const upstream = tensorValues(vector.grad_outputs!['output']!);
    const options = { eps: vector.config['eps'] as number, momentum: (vector.config['momentum'] as number | undefined) ?? 0.1 };
    let results: Array<Float32Array | Int32Array | Uint32Array>;
    if (vector.op === 'batch_norm_train') {
      results = await trainStep(engine, shape, values, upstream, options);
      assertClose(results[1], tensorValues(vector.outputs['running_mean']!), tolerance, `${name} running_mean`);
      assertClose(results[2], tensorValues(vector.outputs['running_var']!), tolerance, `${name} running_var`);
    } else {
      const [x, w, b, rm, rv] = values.map((data, i) => engine.fromArray(data, i === 0 ? shape : [shape[1]]));
      for (const t of [x, w, b]) t.requiresGrad = true;
      const out = batchNorm2d(x, w, b, rm, rv, { training: false, eps: options.eps });
      const g = engine.fromArray(upstream, shape);
      backward(sum(mul(out, g)));
      results = await engine.read([out, rm, rv, x.grad!, w.grad!, b.grad!]);
    }
    assertClose(results[0], tensorValues(vector.outputs['output']!), tolerance, `${name} output`);
    ['x', 'weight', 'bias'].forEach((key, i) => assertClose(results[3 + i], tensorValues(vector.grads![key]!), tolerance, `${name} grad ${key}`));
  }
});

test('batchNorm2d frees every temporary', async () => {
  const engine = await testEngine();
  const shape: Shape4 = [4, 6, 8, 8];
  const make = (): Tensor[] => {
    const values = channelInputs(shape, 15).map((input, i) => engine.fromArray(input.data, i === 0 ? shape : [6]));
    for (const t of values.slice(0, 3)) t.requiresGrad = true;
    return values;
  };
  for (const training of [true, false]) {
    const [x, w, b, rm, rv] = make();
    const before = engine.memory().liveBytes;
    engine.tidy(() => backward(sum(batchNorm2d(x, w, b, rm, rv, { training }))));
    await engine.sync();
    for (const t of [x, w, b]) {
      t.grad!.dispose();
      t.grad = null;
    }
    assert.is(engine.memory().liveBytes, before, `training=${training}: live bytes after forward + backward`);
    noGrad(engine, () => engine.tidy(() => batchNorm2d(x, w, b, rm, rv, { training }).dispose()));
    assert.is(engine.memory().liveBytes, before, `training=${training}: live bytes after forward only`);
    for (const t of [x, w, b, rm, rv]) t.dispose();
  }
});

test.run();
