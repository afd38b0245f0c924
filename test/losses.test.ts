// BCE-with-logits and MSE on the GPU against the float64 reference (forward, both gradients) on
// small and multi-workgroup shapes, extreme logits, the PyTorch vectors, and for leaks.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testEngine } from './helpers/engine.ts';
import { checkOp } from './helpers/gpu-check.ts';
import { assertClose } from './helpers/finite-diff.ts';
import * as ref from './helpers/reference.ts';
import { mulberry32, randn, randUniform } from './helpers/random.ts';
import { loadOpsVectors, tensorValues } from './helpers/torch-vectors.ts';
import { bceWithLogits, constantTarget, mse } from '../engine/ops/losses.ts';
import { backward } from '../engine/ops/backward.ts';

const shapes = [[1], [16], [2, 1, 1, 1], [64, 1, 1, 1], [3, 5, 7], [3, 70001], [4, 1, 300, 300]];

for (const shape of shapes) {
  const size = shape.reduce((a, b) => a * b, 1);
  const rng = mulberry32(size);
  const logits = { shape, data: randn(size, rng).map((v) => 4 * v) };
  test(`bceWithLogits ${shape.join('x')}`, async () => {
    await checkOp(await testEngine(), {
      name: `bce ${shape}`,
      inputs: [logits, { shape, data: randUniform(size, rng) }],
      gpu: (_, [x, t]) => bceWithLogits(x, t),
      reference: ([x, t]) => Float64Array.of(ref.bceWithLogitsForward(x, t)),
      referenceBackward: ([x, t], g) => {
        const grads = ref.bceWithLogitsBackward(x, t, g[0]);
        return [grads.gradInput, grads.gradTarget];
      },
      gradTolerance: { atol: 1e-6, rtol: 1e-4 },
    });
  });
  test(`mse ${shape.join('x')}`, async () => {
    await checkOp(await testEngine(), {
      name: `mse ${shape}`,
      inputs: [{ shape }, { shape }],
      gpu: (_, [a, b]) => mse(a, b),
      reference: ([a, b]) => Float64Array.of(ref.mseForward(a, b)),
      referenceBackward: ([a, b], g) => {
        const grads = ref.mseBackward(a, b, g[0]);
        return [grads.gradInput, grads.gradTarget];
      },
      gradTolerance: { atol: 1e-6, rtol: 1e-4 },
    });
  });
}

test('losses by finite differences', async () => {
  const engine = await testEngine();
  const inputs = [{ shape: [3, 4] }, { shape: [3, 4], data: randUniform(12, mulberry32(2)) }];
  await checkOp(engine, { name: 'bce fd', inputs, gpu: (_, [x, t]) => bceWithLogits(x, t), reference: ([x, t]) => Float64Array.of(ref.bceWithLogitsForward(x, t)) });
  await checkOp(engine, { name: 'mse fd', inputs, gpu: (_, [a, b]) => mse(a, b), reference: ([a, b]) => Float64Array.of(ref.mseForward(a, b)) });
});

test('bceWithLogits is finite and accurate for extreme logits', async () => {
  const logits = [-1000, -90, -20, -1e-4, 0, 1e-4, 20, 90, 1000];
  for (const targetValue of [0, 1, 0.3]) {
    await checkOp(await testEngine(), {
      name: `bce extreme t=${targetValue}`,
      inputs: [{ shape: [9], data: logits }, { shape: [9], data: logits.map(() => targetValue), grad: false }],
      gpu: (_, [x, t]) => bceWithLogits(x, t),
      reference: ([x, t]) => Float64Array.of(ref.bceWithLogitsForward(x, t)),
      referenceBackward: ([x, t], g) => [ref.bceWithLogitsBackward(x, t, g[0]).gradInput, null],
      tolerance: { atol: 1e-6, rtol: 1e-6 },
      gradTolerance: { atol: 1e-7, rtol: 1e-5 },
    });
  }
});

test('constant targets: real and fake labels', async () => {
  const engine = await testEngine();
  const x = engine.fromArray([-2, 0.5, 3, 0], [4, 1, 1, 1]);
  x.requiresGrad = true;
  const [ones, zeros] = [constantTarget(engine, x.shape, 1), constantTarget(engine, x.shape, 0)];
  const [real, fake] = [bceWithLogits(x, ones), bceWithLogits(x, zeros)];
  const [realValue, fakeValue, oneValues] = await engine.read([real, fake, ones]);
  const host = Float64Array.of(-2, 0.5, 3, 0);
  assert.equal(Array.from(oneValues), [1, 1, 1, 1]);
  assertClose(realValue, [ref.bceWithLogitsForward(host, new Float64Array(4).fill(1))], { atol: 1e-6, rtol: 1e-6 }, 'real loss');
  assertClose(fakeValue, [ref.bceWithLogitsForward(host, new Float64Array(4))], { atol: 1e-6, rtol: 1e-6 }, 'fake loss');
  backward(real);
  backward(fake);
  const [grad] = await engine.read([x.grad!]);
  const expected = ref.bceWithLogitsBackward(host, new Float64Array(4).fill(1)).gradInput.map((g, i) => g + ref.bceWithLogitsBackward(host, new Float64Array(4)).gradInput[i]);
  assertClose(grad, expected, { atol: 1e-6, rtol: 1e-5 }, 'accumulated gradient');
  for (const t of [x, ones, zeros, real, fake]) t.dispose();
});

test('losses PyTorch vectors', async () => {
  const engine = await testEngine();
  const tolerance = { atol: 1e-5, rtol: 1e-5 };
  for (const [name, vector] of Object.entries(loadOpsVectors().cases)) {
    const op = vector.op === 'bce_with_logits' ? bceWithLogits : vector.op === 'mse' ? mse : null;
    if (!op) continue;
    const [input, target] = ['input', 'target'].map((key) => {
      const entry = vector.inputs[key]!;
      const tensor = engine.fromArray(tensorValues(entry), entry.shape);
      tensor.requiresGrad = true;
      return tensor;
    });
    const loss = op(input, target);
    const upstream = engine.fromArray(tensorValues(vector.grad_outputs!['output']!), [1]);
    const [value] = await engine.read([loss]);
    backward(loss, upstream);
    const [gradInput, gradTarget] = await engine.read([input.grad!, target.grad!]);
    assertClose(value, tensorValues(vector.outputs['output']!), tolerance, `${name} output`);
    assertClose(gradInput, tensorValues(vector.grads!['input']!), tolerance, `${name} grad input`);
    assertClose(gradTarget, tensorValues(vector.grads!['target']!), tolerance, `${name} grad target`);
    for (const t of [input, target, loss]) t.dispose();
  }
});

test('losses free every temporary', async () => {
  const engine = await testEngine();
  const a = engine.fromArray(randn(5000, mulberry32(1)), [5000]);
  const b = engine.fromArray(randUniform(5000, mulberry32(2)), [5000]);
  a.requiresGrad = true;
  const before = engine.memory().liveBytes;
  engine.tidy(() => {
    backward(mse(a, b));
    backward(bceWithLogits(a, b));
  });
  a.grad!.dispose();
  a.grad = null;
  assert.is(engine.memory().liveBytes, before);
  for (const t of [a, b]) t.dispose();
});

test.run();
