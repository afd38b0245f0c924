// batchNormActivation: BatchNorm2d and a LeakyReLU / PReLU fused into the BN passes. Checked against
// the float64 composition of the two references, by finite differences, bit for bit against the
// unfused ops it replaces, and for what it keeps alive.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, testEngine } from './helpers/engine.ts';
import { checkOp } from './helpers/gpu-check.ts';
import { assertClose } from './helpers/finite-diff.ts';
import * as ref from './helpers/reference.ts';
import type { Shape4 } from './helpers/reference.ts';
import { mulberry32, randn, randUniform } from './helpers/random.ts';
import { batchNorm2d, batchNormActivation, batchNormParts, type FusedActivation } from '../engine/ops/batchnorm.ts';
import { backward } from '../engine/ops/backward.ts';
import { leakyRelu, mul, prelu } from '../engine/ops/elementwise.ts';
import { sum } from '../engine/ops/reduce.ts';
import { noGrad } from '../engine/autograd.ts';
import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';

const slope = 0.2;
const preluWeight = 0.25;

function channelInputs(shape: Shape4, seed: number, withPrelu: boolean) {
  const rng = mulberry32(seed);
  const channels = shape[1];
  const inputs = [
    { shape: [...shape], data: randn(shape[0] * channels * shape[2] * shape[3], rng).map((v) => 3 * v + 0.5) },
    { shape: [channels], data: randUniform(channels, rng, 0.5, 1.5) },
    { shape: [channels], data: randn(channels, rng) },
    { shape: [channels], data: randn(channels, rng), grad: false },
    { shape: [channels], data: randUniform(channels, rng, 0.5, 2), grad: false },
  ];
  return withPrelu ? [...inputs, { shape: [1], data: [preluWeight] }] : inputs;
}

/** float64 act(BN(x)) and its gradients: the activation's backward, then BN's. */
function reference(shape: Shape4, training: boolean, withPrelu: boolean) {
  const forward = ([x, w, b, rm, rv, a]: Float64Array[]) => {
    const alpha = withPrelu ? a[0] : slope;
    const normalised = training ? ref.batchNorm2dTrainForward(x, shape, w, b, rm, rv) : null;
    const pre = normalised ? normalised.output : ref.batchNorm2dEvalForward(x, shape, w, b, rm, rv);
    return { pre, out: pre.map((v) => (v > 0 ? v : alpha * v)), normalised, alpha };
  };
  return {
    forward: (inputs: Float64Array[]) => forward(inputs).out,
    backward: (inputs: Float64Array[], upstream: Float64Array) => {
      const [x, w, , rm, rv] = inputs;
      const { pre, normalised, alpha } = forward(inputs);
      const g = upstream.map((dy, i) => (pre[i] > 0 ? dy : alpha * dy));
      const grads = normalised
        ? ref.batchNorm2dTrainBackward(g, x, shape, w, normalised.mean, normalised.variance)
        : ref.batchNorm2dEvalBackward(g, x, shape, w, rm, rv);
      const bnGrads = [grads.gradInput, grads.gradWeight, grads.gradBias, null, null];
      if (!withPrelu) return bnGrads;
      let slopeGrad = 0;
      pre.forEach((v, i) => { if (v <= 0) slopeGrad += upstream[i] * v; });
      return [...bnGrads, Float64Array.of(slopeGrad)];
    },
  };
}

const fused = (training: boolean, withPrelu: boolean) => (_: Engine, [x, w, b, rm, rv, a]: Tensor[]) =>
  batchNormActivation(x, w, b, rm, rv, { training }, withPrelu ? { prelu: a } : { leakyRelu: slope });

// Linear-grid and plane-grid launches, a 1x1 plane with N > 256 lanes, an uneven cursor wrap.
const shapes: Shape4[] = [[6, 4, 1, 1], [300, 3, 1, 1], [2, 3, 17, 19], [8, 16, 32, 32], [2, 3, 48, 48]];

/** The fused op on `engine` against the float64 reference, forward and backward. */
async function checkFused(engine: Engine, name: string, shape: Shape4, training: boolean, withPrelu: boolean, seed: number): Promise<void> {
  const { forward, backward: referenceBackward } = reference(shape, training, withPrelu);
  await checkOp(engine, {
    name,
    inputs: channelInputs(shape, seed, withPrelu),
    gpu: fused(training, withPrelu),
    reference: forward,
    referenceBackward,
    tolerance: { atol: 1e-4, rtol: 1e-4 },
    gradTolerance: { atol: 5e-4, rtol: 1e-3 },
  });
}

for (const shape of shapes) {
  for (const withPrelu of [false, true]) {
    for (const training of [true, false]) {
      const name = `batchNormActivation ${withPrelu ? 'prelu' : 'leakyRelu'} ${training ? 'train' : 'eval'} ${shape.join('x')}`;
      test(name, async () => checkFused(await testEngine(), name, shape, training, withPrelu, 21));
    }
  }
}

for (const withPrelu of [false, true]) {
  test(`batchNormActivation ${withPrelu ? 'prelu' : 'leakyRelu'} backward by finite differences`, async () => {
    const shape: Shape4 = [2, 3, 2, 3];
    await checkOp(await testEngine(), {
      name: `batchNormActivation fd ${withPrelu}`,
      inputs: channelInputs(shape, 22, withPrelu),
      gpu: fused(true, withPrelu),
      reference: reference(shape, true, withPrelu).forward,
    });
  });
}

/** Output and input gradients of `op` for one upstream gradient. */
async function outputsAndGrads(engine: Engine, shape: Shape4, withPrelu: boolean, op: (tensors: Tensor[]) => Tensor) {
  const tensors = channelInputs(shape, 23, withPrelu).map((input) => engine.fromArray(input.data, input.shape));
  const trainable = withPrelu ? [0, 1, 2, 5] : [0, 1, 2];
  for (const i of trainable) tensors[i].requiresGrad = true;
  const out = op(tensors);
  backward(sum(mul(out, engine.fromArray(randn(out.size, mulberry32(4)), out.shape))));
  return engine.read([out, ...trainable.map((i) => tensors[i].grad!)]);
}

test('batchNormActivation matches batchNorm2d then leakyRelu / prelu (bit for bit but the PReLU weight sum)', async () => {
  const engine = await testEngine();
  const shape: Shape4 = [4, 8, 16, 16];
  for (const withPrelu of [false, true]) {
    const separate = await outputsAndGrads(engine, shape, withPrelu, ([x, w, b, rm, rv, a]) => {
      const normalised = batchNorm2d(x, w, b, rm, rv, { training: true });
      return withPrelu ? prelu(normalised, a) : leakyRelu(normalised, slope);
    });
    const together = await outputsAndGrads(engine, shape, withPrelu, fused(true, withPrelu).bind(null, engine));
    ['output', 'dx', 'dweight', 'dbias'].forEach((what, i) => assert.equal([...together[i]], [...separate[i]], `${what} (prelu ${withPrelu})`));
    // Per-channel partials then a sum, against one sum over every element: only the order differs.
    if (withPrelu) assertClose(together[4], separate[4], { atol: 1e-4, rtol: 1e-5 }, 'PReLU weight gradient');
  }
});

test('batchNormActivation keeps one activation-sized tensor less alive for backward and frees every temporary', async () => {
  const engine = await testEngine();
  const shape: Shape4 = [4, 6, 8, 8];
  const activationBytes = 4 * 6 * 8 * 8 * 4;
  for (const activation of ['leakyRelu', 'prelu'] as const) {
    const [x, w, b, rm, rv, a] = channelInputs(shape, 24, true).map((input) => engine.fromArray(input.data, input.shape));
    for (const t of [x, w, b, a]) t.requiresGrad = true;
    const fusedActivation: FusedActivation = activation === 'prelu' ? { prelu: a } : { leakyRelu: slope };
    const separate = (): Tensor => {
      const normalised = batchNorm2d(x, w, b, rm, rv, { training: true });
      return activation === 'prelu' ? prelu(normalised, a) : leakyRelu(normalised, slope);
    };
    const before = engine.memory().liveBytes;
    const live = (make: () => Tensor): number => {
      const out = engine.tidy(make);
      const bytes = engine.memory().liveBytes - before;
      engine.tidy(() => backward(sum(out)));
      out.dispose();
      for (const t of [x, w, b, a]) {
        t.grad?.dispose();
        t.grad = null;
      }
      return bytes;
    };
    const separateBytes = live(separate);
    const fusedBytes = live(() => batchNormActivation(x, w, b, rm, rv, { training: true }, fusedActivation));
    await engine.sync();
    assert.is(engine.memory().liveBytes, before, `${activation}: live bytes after forward + backward`);
    // Besides the output: the statistics (and the slope), a few hundred bytes (pool granularity).
    const message = `${activation}: fused ${fusedBytes} B live, separate ${separateBytes} B`;
    assert.ok(fusedBytes < activationBytes + 1024 && separateBytes >= 2 * activationBytes, message);
    noGrad(engine, () => engine.tidy(() => batchNormActivation(x, w, b, rm, rv, { training: false }, fusedActivation).dispose()));
    assert.is(engine.memory().liveBytes, before, `${activation}: live bytes after an eval forward`);
    for (const t of [x, w, b, rm, rv, a]) t.dispose();
  }
});

test.run();

test('per-channel sums split into parts (a GPU-sized engine): batchNormActivation against the reference', async () => {
  // 2 and 5 parts (the last of 1 image); the statistics merged from the parts, the sums added.
  const engine = await createEngine({ seed: 31, adapterKind: 'gpu' });
  try {
    for (const [shape, parts] of [[[8, 3, 32, 32], 2], [[9, 2, 48, 48], 5]] as [Shape4, number][]) {
      assert.is(batchNormParts(shape[0], shape[1], shape[2] * shape[3], 'gpu').parts, parts);
      assert.is(batchNormParts(shape[0], shape[1], shape[2] * shape[3], 'cpu').parts, 1);
      for (const withPrelu of [false, true]) {
        await checkFused(engine, `batchNormActivation ${withPrelu ? 'prelu' : 'leakyRelu'} train ${shape.join('x')}, ${parts} parts`, shape, true, withPrelu, 24);
      }
    }
  } finally {
    engine.destroy();
  }
});
