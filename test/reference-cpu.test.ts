// Validates the float64 reference that GPU kernel tests trust: every backward against central
// differences on awkward shapes, every op against the committed PyTorch vectors, and a 5-step
// Adam training run of a small conv net against PyTorch's weights.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as reference from './helpers/reference.ts';
import type { Shape4 } from './helpers/reference.ts';
import { assertClose, numericGradients } from './helpers/finite-diff.ts';
import { mulberry32, randInt, randKeepMask, randn, randUniform, type Rng } from './helpers/random.ts';
import { loadAdamConvnetVectors, loadOpsVectors, shape4, tensorValues } from './helpers/torch-vectors.ts';
import { torchCaseRunners } from './helpers/torch-case-runners.ts';
import { trainConvnet, type ConvnetState } from './helpers/tiny-convnet.ts';

const finiteDifferenceTolerance = { atol: 1e-6, rtol: 1e-6 };
// The vectors are float32 PyTorch results; the reference is float64, so differences are float32 rounding.
const torchTolerance = { atol: 1e-5, rtol: 1e-5 };

const product = (shape: readonly number[]): number => shape.reduce((total, size) => total * size, 1);

/** Compares backward(upstream) with numeric gradients of sum(forward(inputs) * upstream). */
function checkBackward(
  label: string, inputs: Float64Array[], forward: (inputs: Float64Array[]) => Float64Array,
  backward: (upstream: Float64Array) => Float64Array[], rng: Rng,
): void {
  const upstream = randn(forward(inputs).length, rng);
  const analytic = backward(upstream);
  const numeric = numericGradients(forward, inputs, upstream);
  assert.is(analytic.length, inputs.length, `${label}: one gradient per input`);
  numeric.forEach((expected, which) => assertClose(analytic[which]!, expected, finiteDifferenceTolerance, `${label} grad[${which}]`));
}

const convConfigs: Array<{ x: Shape4; weight: Shape4; stride: number; padding: number; bias: boolean }> = [
  { x: [1, 1, 5, 5], weight: [1, 1, 3, 3], stride: 1, padding: 1, bias: true },
  { x: [2, 3, 7, 6], weight: [5, 3, 4, 4], stride: 2, padding: 1, bias: false },
  { x: [1, 3, 5, 5], weight: [2, 3, 4, 4], stride: 1, padding: 0, bias: true },
  { x: [1, 1, 9, 9], weight: [2, 1, 9, 9], stride: 1, padding: 4, bias: true },
  { x: [3, 5, 3, 3], weight: [7, 5, 1, 1], stride: 1, padding: 0, bias: true },
  { x: [1, 3, 7, 7], weight: [2, 3, 3, 3], stride: 2, padding: 1, bias: true },
  { x: [2, 2, 5, 6], weight: [3, 2, 2, 3], stride: 3, padding: 1, bias: false },
];

test('conv2d backward matches finite differences', () => {
  const rng = mulberry32(1);
  for (const config of convConfigs) {
    const options = { stride: config.stride, padding: config.padding };
    const inputs = [randn(product(config.x), rng), randn(product(config.weight), rng), randn(config.weight[0], rng)];
    const forward = ([x, weight, bias]: Float64Array[]) =>
      reference.conv2dForward(x!, config.x, weight!, config.weight, config.bias ? bias! : null, options).output;
    const backward = (upstream: Float64Array) => {
      const grads = reference.conv2dBackward(upstream, inputs[0]!, config.x, inputs[1]!, config.weight, options);
      return [grads.gradInput, grads.gradWeight, config.bias ? grads.gradBias : new Float64Array(config.weight[0])];
    };
    checkBackward(`conv2d ${JSON.stringify(config)}`, inputs, forward, backward, rng);
  }
});

const convTransposeConfigs: Array<{ x: Shape4; weight: Shape4; stride: number; padding: number; outputPadding: number; bias: boolean }> = [
  { x: [2, 4, 3, 3], weight: [4, 3, 4, 4], stride: 2, padding: 1, outputPadding: 0, bias: false },
  { x: [1, 3, 1, 1], weight: [3, 2, 4, 4], stride: 1, padding: 0, outputPadding: 0, bias: true },
  { x: [2, 3, 4, 3], weight: [3, 2, 3, 3], stride: 2, padding: 1, outputPadding: 1, bias: true },
  { x: [1, 2, 3, 3], weight: [2, 3, 4, 4], stride: 2, padding: 2, outputPadding: 1, bias: false },
  { x: [1, 1, 2, 3], weight: [1, 2, 2, 3], stride: 3, padding: 0, outputPadding: 2, bias: true },
  { x: [1, 5, 3, 3], weight: [5, 1, 3, 3], stride: 1, padding: 1, outputPadding: 0, bias: true },
];

test('convTranspose2d backward matches finite differences', () => {
  const rng = mulberry32(2);
  for (const config of convTransposeConfigs) {
    const inputs = [randn(product(config.x), rng), randn(product(config.weight), rng), randn(config.weight[1], rng)];
    const forward = ([x, weight, bias]: Float64Array[]) =>
      reference.convTranspose2dForward(x!, config.x, weight!, config.weight, config.bias ? bias! : null, config).output;
    const backward = (upstream: Float64Array) => {
      const grads = reference.convTranspose2dBackward(upstream, inputs[0]!, config.x, inputs[1]!, config.weight, config);
      return [grads.gradInput, grads.gradWeight, config.bias ? grads.gradBias : new Float64Array(config.weight[1])];
    };
    checkBackward(`convTranspose2d ${JSON.stringify(config)}`, inputs, forward, backward, rng);
  }
});

test('convTranspose2d output sizes follow PyTorch', () => {
  assert.is(reference.convTranspose2dOutputSize(1, 4, 1, 0, 0), 4);
  assert.is(reference.convTranspose2dOutputSize(64, 4, 2, 1, 0), 128);
  assert.is(reference.conv2dOutputSize(128, 4, 2, 1), 64);
  assert.is(reference.conv2dOutputSize(4, 4, 1, 0), 1);
});

test('matmul and linear backward match finite differences', () => {
  const rng = mulberry32(3);
  for (const [m, k, n] of [[1, 1, 1], [3, 4, 5], [2, 7, 1]] as const) {
    const inputs = [randn(m * k, rng), randn(k * n, rng)];
    checkBackward(`matmul ${m}x${k}x${n}`, inputs, ([a, b]) => reference.matmulForward(a!, b!, m, k, n), (upstream) => {
      const grads = reference.matmulBackward(upstream, inputs[0]!, inputs[1]!, m, k, n);
      return [grads.gradA, grads.gradB];
    }, rng);
    const linearInputs = [randn(m * k, rng), randn(n * k, rng), randn(n, rng)];
    checkBackward(`linear ${m}x${k}->${n}`, linearInputs, ([x, weight, bias]) => reference.linearForward(x!, weight!, bias!, m, k, n),
      (upstream) => {
        const grads = reference.linearBackward(upstream, linearInputs[0]!, linearInputs[1]!, m, k, n);
        return [grads.gradInput, grads.gradWeight, grads.gradBias];
      }, rng);
  }
});

test('elementwise, activation and dropout backwards match finite differences', () => {
  const rng = mulberry32(4);
  const pair = [randn(17, rng), randn(17, rng)];
  checkBackward('add', pair, ([a, b]) => reference.addForward(a!, b!), (g) => Object.values(reference.addBackward(g)), rng);
  checkBackward('mul', pair, ([a, b]) => reference.mulForward(a!, b!), (g) => Object.values(reference.mulBackward(g, pair[0]!, pair[1]!)), rng);
  const single = [randn(23, rng)];
  const x = single[0]!;
  checkBackward('scale', single, ([v]) => reference.scaleForward(v!, -1.5), (g) => [reference.scaleBackward(g, -1.5)], rng);
  for (const slope of [0.2, 0.01]) {
    checkBackward(`leakyRelu ${slope}`, single, ([v]) => reference.leakyReluForward(v!, slope), (g) => [reference.leakyReluBackward(g, x, slope)], rng);
  }
  const preluInputs = [x, Float64Array.of(0.25)];
  checkBackward('prelu', preluInputs, ([v, weight]) => reference.preluForward(v!, weight!), (g) => {
    const grads = reference.preluBackward(g, x, preluInputs[1]!);
    return [grads.gradInput, grads.gradWeight];
  }, rng);
  checkBackward('tanh', single, ([v]) => reference.tanhForward(v!), (g) => [reference.tanhBackward(g, reference.tanhForward(x))], rng);
  checkBackward('sigmoid', single, ([v]) => reference.sigmoidForward(v!), (g) => [reference.sigmoidBackward(g, reference.sigmoidForward(x))], rng);
  const mask = randKeepMask(x.length, rng, 0.3);
  checkBackward('dropout', single, ([v]) => reference.dropoutForward(v!, mask, 0.3), (g) => [reference.dropoutBackward(g, mask, 0.3)], rng);
  assert.equal(Array.from(reference.sigmoidForward(Float64Array.of(-1000, 1000))), [0, 1]);
});

test('batchNorm2d train and eval backwards match finite differences', () => {
  const rng = mulberry32(5);
  for (const shape of [[1, 1, 2, 1], [1, 3, 2, 3], [4, 2, 3, 3], [5, 3, 1, 1]] as Shape4[]) {
    const channels = shape[1];
    const inputs = [randn(product(shape), rng).map((v) => 2 * v + 0.5), randn(channels, rng).map((v) => 1 + 0.1 * v), randn(channels, rng)];
    const runningMean = randn(channels, rng);
    const runningVar = randUniform(channels, rng, 0.5, 1.5);
    const train = reference.batchNorm2dTrainForward(inputs[0]!, shape, inputs[1]!, inputs[2]!, runningMean, runningVar);
    checkBackward(`batchNorm2d train [${shape}]`, inputs,
      ([x, weight, bias]) => reference.batchNorm2dTrainForward(x!, shape, weight!, bias!, runningMean, runningVar).output,
      (g) => Object.values(reference.batchNorm2dTrainBackward(g, inputs[0]!, shape, inputs[1]!, train.mean, train.variance)), rng);
    checkBackward(`batchNorm2d eval [${shape}]`, inputs,
      ([x, weight, bias]) => reference.batchNorm2dEvalForward(x!, shape, weight!, bias!, runningMean, runningVar),
      (g) => Object.values(reference.batchNorm2dEvalBackward(g, inputs[0]!, shape, inputs[1]!, runningMean, runningVar)), rng);
  }
  // One value per channel has no unbiased variance; PyTorch raises too.
  const ones = Float64Array.of(1, 1);
  assert.throws(() => reference.batchNorm2dTrainForward(ones, [1, 2, 1, 1], ones, ones, ones, ones));
});

test('layout ops backwards match finite differences', () => {
  const rng = mulberry32(6);
  const indices = Int32Array.of(2, 0, 2, 2, 1);
  const table = [randn(3 * 4, rng)];
  checkBackward('embedding', table, ([weight]) => reference.embeddingForward(indices, weight!, 3, 4),
    (g) => [reference.embeddingBackward(g, indices, 3, 4)], rng);
  assert.throws(() => reference.embeddingForward(Int32Array.of(3), table[0]!, 3, 4));
  const shapes: Shape4[] = [[2, 1, 2, 3], [2, 3, 2, 3], [2, 2, 2, 3]];
  const parts = shapes.map((shape) => randn(product(shape), rng));
  checkBackward('concatChannels', parts, (values) => reference.concatChannelsForward(values, shapes).output,
    (g) => reference.concatChannelsBackward(g, shapes), rng);
  for (const [shape, factor] of [[[1, 4, 1, 1], 2], [[2, 8, 3, 2], 2], [[1, 18, 2, 3], 3]] as Array<[Shape4, number]>) {
    checkBackward(`pixelShuffle r${factor}`, [randn(product(shape), rng)], ([x]) => reference.pixelShuffleForward(x!, shape, factor).output,
      (g) => [reference.pixelShuffleBackward(g, shape, factor)], rng);
  }
  const poolShape: Shape4 = [2, 3, 4, 5];
  checkBackward('globalAvgPool', [randn(product(poolShape), rng)], ([x]) => reference.globalAvgPoolForward(x!, poolShape),
    (g) => [reference.globalAvgPoolBackward(g, poolShape)], rng);
});

test('reductions and losses backwards match finite differences', () => {
  const rng = mulberry32(7);
  const x = [randn(12, rng)];
  checkBackward('sum', x, ([v]) => Float64Array.of(reference.sumForward(v!)), (g) => [reference.sumBackward(g[0]!, 12)], rng);
  checkBackward('mean', x, ([v]) => Float64Array.of(reference.meanForward(v!)), (g) => [reference.meanBackward(g[0]!, 12)], rng);
  for (const axes of [[0, 2, 3], [1], [3], [0, 1, 2, 3]]) {
    const shape = [2, 3, 1, 4];
    checkBackward(`sumAxes [${axes}]`, [randn(product(shape), rng)], ([v]) => reference.sumAxesForward(v!, shape, axes).output,
      (g) => [reference.sumAxesBackward(g, shape, axes)], rng);
  }
  const pair = [randn(9, rng).map((v) => 3 * v), randUniform(9, rng)];
  checkBackward('bceWithLogits', pair, ([logits, target]) => Float64Array.of(reference.bceWithLogitsForward(logits!, target!)),
    (g) => Object.values(reference.bceWithLogitsBackward(pair[0]!, pair[1]!, g[0]!)), rng);
  checkBackward('mse', pair, ([input, target]) => Float64Array.of(reference.mseForward(input!, target!)),
    (g) => Object.values(reference.mseBackward(pair[0]!, pair[1]!, g[0]!)), rng);
  // log(1 + e^800) must come out as 800, not Infinity.
  assert.ok(Math.abs(reference.bceWithLogitsForward(Float64Array.of(800, -800), Float64Array.of(0, 1)) - 800) < 1e-9);
  assert.equal(Array.from(randInt(3, mulberry32(9), 1)), [0, 0, 0]);
});

const opsVectors = loadOpsVectors();

test('every PyTorch vector case has a reference runner', () => {
  const ops = new Set(Object.values(opsVectors.cases).map((vector) => vector.op));
  for (const op of ops) assert.ok(torchCaseRunners[op], `no runner for op "${op}"`);
  assert.ok(Object.keys(opsVectors.cases).length >= 40);
});

for (const [name, vector] of Object.entries(opsVectors.cases)) {
  test(`PyTorch vector ${name}`, () => {
    const result = torchCaseRunners[vector.op]!(vector);
    for (const [outputName, entry] of Object.entries(vector.outputs)) {
      const actual = result.outputs[outputName];
      assert.ok(actual, `${name}: reference has no output "${outputName}"`);
      assertClose(actual, tensorValues(entry), torchTolerance, `${name} output ${outputName}`);
    }
    for (const [inputName, entry] of Object.entries(vector.grads ?? {})) {
      const actual = result.grads[inputName];
      assert.ok(actual, `${name}: reference has no gradient for "${inputName}"`);
      assertClose(actual, tensorValues(entry), torchTolerance, `${name} grad ${inputName}`);
    }
  });
}

test('5 Adam steps of the small conv net reproduce PyTorch', () => {
  const vectors = loadAdamConvnetVectors();
  const initial: ConvnetState = {};
  for (const [name, entry] of Object.entries(vectors.initial_state_dict)) initial[name] = tensorValues(entry);
  const optimizer = vectors.description['optimizer'] as { lr: number; betas: [number, number]; eps: number };
  const { losses, state } = trainConvnet(initial, tensorValues(vectors.input), shape4(vectors.input),
    tensorValues(vectors.target), vectors.description.steps,
    { lr: optimizer.lr, beta1: optimizer.betas[0], beta2: optimizer.betas[1], eps: optimizer.eps });
  // Same float32-representable start, so the float64 PyTorch run must agree to float64 noise.
  const tight = { atol: 1e-10, rtol: 1e-9 };
  assertClose(losses, vectors.runs.float64.losses, tight, 'float64 losses');
  assertClose(losses, vectors.runs.float32.losses, { atol: 1e-6, rtol: 1e-5 }, 'float32 losses');
  for (const [name, entry] of Object.entries(vectors.runs.float64.state_dict)) {
    assertClose(state[name]!, tensorValues(entry, false), tight, `float64 ${name}`);
  }
  for (const [name, entry] of Object.entries(vectors.runs.float32.state_dict)) {
    assertClose(state[name]!, tensorValues(entry), { atol: 1e-6, rtol: 1e-5 }, `float32 ${name}`);
  }
});

test.run();
