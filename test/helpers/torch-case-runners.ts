// Runs one PyTorch golden-vector case (see torch-vectors.ts) through the float64 reference,
// producing outputs and input gradients under the same names the vector file uses, so one
// generic loop can compare every case.

import * as reference from './reference.ts';
import { shape4, tensorValues, type OpCase } from './torch-vectors.ts';

export interface ReferenceResult {
  outputs: Record<string, Float64Array>;
  grads: Record<string, Float64Array>;
}

type Runner = (vector: OpCase) => ReferenceResult;

function input(vector: OpCase, name: string): Float64Array {
  const entry = vector.inputs[name];
  if (!entry) throw new Error(`case has no input "${name}"`);
  return tensorValues(entry);
}

function upstream(vector: OpCase, name = 'output'): Float64Array {
  const entry = vector.grad_outputs?.[name];
  if (!entry) throw new Error(`case has no grad_output "${name}"`);
  return tensorValues(entry);
}

/** The scalar upstream gradient of a loss or reduction. */
function upstreamScalar(vector: OpCase): number {
  return upstream(vector)[0]!;
}

function numberConfig(vector: OpCase, key: string): number {
  const value = vector.config[key];
  if (typeof value !== 'number') throw new Error(`config.${key} is not a number`);
  return value;
}

function convolution(transposed: boolean): Runner {
  return (vector) => {
    const x = input(vector, 'x');
    const weight = input(vector, 'weight');
    const xShape = shape4(vector.inputs['x']!);
    const weightShape = shape4(vector.inputs['weight']!);
    const bias = vector.config['bias'] ? input(vector, 'bias') : null;
    const options = {
      stride: numberConfig(vector, 'stride'),
      padding: numberConfig(vector, 'padding'),
      outputPadding: transposed ? numberConfig(vector, 'output_padding') : 0,
    };
    const forward = transposed ? reference.convTranspose2dForward : reference.conv2dForward;
    const backward = transposed ? reference.convTranspose2dBackward : reference.conv2dBackward;
    const { output } = forward(x, xShape, weight, weightShape, bias, options);
    const grads = backward(upstream(vector), x, xShape, weight, weightShape, options);
    return {
      outputs: { output },
      grads: { x: grads.gradInput, weight: grads.gradWeight, ...(bias ? { bias: grads.gradBias } : {}) },
    };
  };
}

function linear(vector: OpCase): ReferenceResult {
  const x = input(vector, 'x');
  const weight = input(vector, 'weight');
  const [batch, inFeatures] = vector.inputs['x']!.shape as [number, number];
  const outFeatures = vector.inputs['weight']!.shape[0]!;
  const bias = vector.config['bias'] ? input(vector, 'bias') : null;
  const output = reference.linearForward(x, weight, bias, batch, inFeatures, outFeatures);
  const grads = reference.linearBackward(upstream(vector), x, weight, batch, inFeatures, outFeatures);
  return {
    outputs: { output },
    grads: { x: grads.gradInput, weight: grads.gradWeight, ...(bias ? { bias: grads.gradBias } : {}) },
  };
}

function matmul(vector: OpCase): ReferenceResult {
  const a = input(vector, 'a');
  const b = input(vector, 'b');
  const [m, k] = vector.inputs['a']!.shape as [number, number];
  const n = vector.inputs['b']!.shape[1]!;
  const grads = reference.matmulBackward(upstream(vector), a, b, m, k, n);
  return { outputs: { output: reference.matmulForward(a, b, m, k, n) }, grads: { a: grads.gradA, b: grads.gradB } };
}

/** For ops whose only gradient is for x and whose backward needs (upstream, x or output). */
function unary(forward: (x: Float64Array) => Float64Array, backward: (g: Float64Array, x: Float64Array, y: Float64Array) => Float64Array): Runner {
  return (vector) => {
    const x = input(vector, 'x');
    const output = forward(x);
    return { outputs: { output }, grads: { x: backward(upstream(vector), x, output) } };
  };
}

function batchNormTrain(vector: OpCase): ReferenceResult {
  const x = input(vector, 'x');
  const xShape = shape4(vector.inputs['x']!);
  const weight = input(vector, 'weight');
  const eps = numberConfig(vector, 'eps');
  const result = reference.batchNorm2dTrainForward(x, xShape, weight, input(vector, 'bias'),
    input(vector, 'running_mean'), input(vector, 'running_var'), { eps, momentum: numberConfig(vector, 'momentum') });
  const grads = reference.batchNorm2dTrainBackward(upstream(vector), x, xShape, weight, result.mean, result.variance, eps);
  return {
    outputs: { output: result.output, running_mean: result.runningMean, running_var: result.runningVar,
      batch_mean: result.mean, batch_var: result.variance },
    grads: { x: grads.gradInput, weight: grads.gradWeight, bias: grads.gradBias },
  };
}

function batchNormEval(vector: OpCase): ReferenceResult {
  const x = input(vector, 'x');
  const xShape = shape4(vector.inputs['x']!);
  const weight = input(vector, 'weight');
  const runningMean = input(vector, 'running_mean');
  const runningVar = input(vector, 'running_var');
  const eps = numberConfig(vector, 'eps');
  const output = reference.batchNorm2dEvalForward(x, xShape, weight, input(vector, 'bias'), runningMean, runningVar, eps);
  const grads = reference.batchNorm2dEvalBackward(upstream(vector), x, xShape, weight, runningMean, runningVar, eps);
  return { outputs: { output }, grads: { x: grads.gradInput, weight: grads.gradWeight, bias: grads.gradBias } };
}

function loss(
  forward: (x: Float64Array, t: Float64Array) => number,
  backward: (x: Float64Array, t: Float64Array, g: number) => reference.LossGrads,
): Runner {
  return (vector) => {
    const x = input(vector, 'input');
    const target = input(vector, 'target');
    const grads = backward(x, target, upstreamScalar(vector));
    return { outputs: { output: Float64Array.of(forward(x, target)) }, grads: { input: grads.gradInput, target: grads.gradTarget } };
  };
}

function adam(vector: OpCase): ReferenceResult {
  let param = input(vector, 'param');
  const allGrads = input(vector, 'grads');
  const steps = numberConfig(vector, 'steps');
  const [beta1, beta2] = vector.config['betas'] as [number, number];
  const options = { lr: numberConfig(vector, 'lr'), beta1, beta2, eps: numberConfig(vector, 'eps'),
    weightDecay: numberConfig(vector, 'weight_decay') };
  let state = reference.adamInitialState(param.length);
  const params = new Float64Array(steps * param.length);
  for (let step = 0; step < steps; step++) {
    ({ param, state } = reference.adamStep(param, allGrads.subarray(step * param.length, (step + 1) * param.length), state, options));
    params.set(param, step * param.length);
  }
  return { outputs: { params, exp_avg: state.expAvg, exp_avg_sq: state.expAvgSq }, grads: {} };
}

export const torchCaseRunners: Record<string, Runner> = {
  conv2d: convolution(false),
  conv_transpose2d: convolution(true),
  linear,
  matmul,
  add: (vector) => {
    const grads = reference.addBackward(upstream(vector));
    return { outputs: { output: reference.addForward(input(vector, 'a'), input(vector, 'b')) }, grads: { a: grads.gradA, b: grads.gradB } };
  },
  mul: (vector) => {
    const [a, b] = [input(vector, 'a'), input(vector, 'b')];
    const grads = reference.mulBackward(upstream(vector), a, b);
    return { outputs: { output: reference.mulForward(a, b) }, grads: { a: grads.gradA, b: grads.gradB } };
  },
  scale: (vector) => {
    const factor = numberConfig(vector, 'factor');
    return unary((x) => reference.scaleForward(x, factor), (g) => reference.scaleBackward(g, factor))(vector);
  },
  leaky_relu: (vector) => {
    const slope = numberConfig(vector, 'negative_slope');
    return unary((x) => reference.leakyReluForward(x, slope), (g, x) => reference.leakyReluBackward(g, x, slope))(vector);
  },
  prelu: (vector) => {
    const [x, weight] = [input(vector, 'x'), input(vector, 'weight')];
    const grads = reference.preluBackward(upstream(vector), x, weight);
    return { outputs: { output: reference.preluForward(x, weight) }, grads: { x: grads.gradInput, weight: grads.gradWeight } };
  },
  tanh: unary(reference.tanhForward, (g, _x, y) => reference.tanhBackward(g, y)),
  sigmoid: unary(reference.sigmoidForward, (g, _x, y) => reference.sigmoidBackward(g, y)),
  dropout: (vector) => {
    const [mask, p] = [input(vector, 'keep_mask'), numberConfig(vector, 'p')];
    return unary((x) => reference.dropoutForward(x, mask, p), (g) => reference.dropoutBackward(g, mask, p))(vector);
  },
  batch_norm_train: batchNormTrain,
  batch_norm_eval: batchNormEval,
  embedding: (vector) => {
    const [indices, weight] = [input(vector, 'indices'), input(vector, 'weight')];
    const [count, dim] = [numberConfig(vector, 'num_embeddings'), numberConfig(vector, 'embedding_dim')];
    return {
      outputs: { output: reference.embeddingForward(indices, weight, count, dim) },
      grads: { weight: reference.embeddingBackward(upstream(vector), indices, count, dim) },
    };
  },
  concat_channels: (vector) => {
    const shapes = [shape4(vector.inputs['input0']!), shape4(vector.inputs['input1']!)];
    const { output } = reference.concatChannelsForward([input(vector, 'input0'), input(vector, 'input1')], shapes);
    const [grad0, grad1] = reference.concatChannelsBackward(upstream(vector), shapes);
    return { outputs: { output }, grads: { input0: grad0!, input1: grad1! } };
  },
  pixel_shuffle: (vector) => {
    const [xShape, factor] = [shape4(vector.inputs['x']!), numberConfig(vector, 'upscale_factor')];
    return unary((x) => reference.pixelShuffleForward(x, xShape, factor).output,
      (g) => reference.pixelShuffleBackward(g, xShape, factor))(vector);
  },
  global_avg_pool: (vector) => {
    const xShape = shape4(vector.inputs['x']!);
    return unary((x) => reference.globalAvgPoolForward(x, xShape), (g) => reference.globalAvgPoolBackward(g, xShape))(vector);
  },
  sum: unary((x) => Float64Array.of(reference.sumForward(x)), (g, x) => reference.sumBackward(g[0]!, x.length)),
  mean: unary((x) => Float64Array.of(reference.meanForward(x)), (g, x) => reference.meanBackward(g[0]!, x.length)),
  sum_axes: (vector) => {
    const [shape, axes] = [vector.inputs['x']!.shape, vector.config['axes'] as number[]];
    return unary((x) => reference.sumAxesForward(x, shape, axes).output, (g) => reference.sumAxesBackward(g, shape, axes))(vector);
  },
  bce_with_logits: loss(reference.bceWithLogitsForward, reference.bceWithLogitsBackward),
  mse: loss(reference.mseForward, reference.mseBackward),
  adam,
};
