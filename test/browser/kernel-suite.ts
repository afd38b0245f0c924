// A subset of the kernel unit tests (conv2d, convTranspose2d, batchNorm2d, Adam, f16 packing, a budget's
// evictions, recomputed activations) that runs the same
// way in Node and in a browser: each case checks forward and gradients against the float64
// reference with the shared `checkOp`, then returns its raw outputs so that the runner can also
// compare the browser's numbers with Node's. Browser-safe: no Node imports.

import { Engine } from '../../engine/runtime.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { backward } from '../../engine/ops/backward.ts';
import { batchNorm2d, batchNormActivation } from '../../engine/ops/batchnorm.ts';
import { dropout } from '../../engine/ops/random.ts';
import { parameter } from '../../engine/autograd.ts';
import { conv2d, convTranspose2d } from '../../engine/ops/conv.ts';
import { mul, scale } from '../../engine/ops/elementwise.ts';
import { sum } from '../../engine/ops/reduce.ts';
import { Adam } from '../../engine/optim/adam.ts';
import { packHalf, unpackHalf } from '../../engine/ops/half-storage.ts';
import { ParameterGroup } from '../../engine/parameters.ts';
import { assertClose } from '../helpers/finite-diff.ts';
import { checkOp, type OpCheck } from '../helpers/gpu-check.ts';
import { mulberry32, randn, randUniform } from '../helpers/random.ts';
import { exactHalfValues, halfBits, halfOfWords } from '../helpers/half.ts';
import * as ref from '../helpers/reference.ts';
import type { Shape4 } from '../helpers/reference.ts';

export interface KernelCaseResult {
  name: string;
  /** Null when the case agreed with the float64 reference. */
  error: string | null;
  /** Forward output then each input gradient (or Adam's parameters after each step). */
  outputs: number[][];
  seconds: number;
}

/** Forward and input gradients of `check.gpu` on its inputs, with a seeded upstream gradient. */
async function rawOutputs(engine: Engine, check: OpCheck): Promise<number[][]> {
  const rng = mulberry32(check.seed ?? 7);
  const tensors = check.inputs.map((input, i) => {
    const size = input.shape.reduce((a, b) => a * b, 1);
    const tensor = engine.fromArray(Float32Array.from(input.data ?? randn(size, rng)), input.shape, 'f32', `raw.input${i}`);
    tensor.requiresGrad = input.grad !== false;
    return tensor;
  });
  const output = check.gpu(engine, tensors);
  const upstream = engine.fromArray(Float32Array.from(randn(output.size, rng)), output.shape, 'f32', 'raw.upstream');
  const loss = sum(mul(output, upstream));
  backward(loss);
  const wanted: Tensor[] = [output, ...tensors.flatMap((t) => (t.requiresGrad && t.grad ? [t.grad] : []))];
  const values = await engine.read(wanted);
  for (const tensor of tensors) tensor.grad?.dispose();
  for (const tensor of [output, upstream, loss, ...tensors]) tensor.dispose();
  return values.map((v) => Array.from(v));
}

interface ConvCase { x: Shape4; weight: Shape4; stride: number; padding: number; bias: boolean }

function convCheck(c: ConvCase, transposed: boolean): OpCheck {
  const options = { stride: c.stride, padding: c.padding, outputPadding: 0 };
  const outChannels = transposed ? c.weight[1] : c.weight[0];
  const forward = transposed ? ref.convTranspose2dForward : ref.conv2dForward;
  const backwardReference = transposed ? ref.convTranspose2dBackward : ref.conv2dBackward;
  const terms = c.weight.reduce((a, b) => a * b, 1) / outChannels;
  return {
    name: `${transposed ? 'convTranspose2d' : 'conv2d'} x${c.x.join('x')} w${c.weight.join('x')} s${c.stride} p${c.padding}${c.bias ? ' bias' : ''}`,
    inputs: [{ shape: [...c.x] }, { shape: [...c.weight] }, ...(c.bias ? [{ shape: [outChannels] }] : [])],
    gpu: (_, [x, weight, bias]) => (transposed ? convTranspose2d(x, weight, bias ?? null, options) : conv2d(x, weight, bias ?? null, options)),
    reference: ([x, weight, bias]) => forward(x, c.x, weight, c.weight, bias ?? null, options).output,
    referenceBackward: ([x, weight], upstream) => {
      const grads = backwardReference(upstream, x, c.x, weight, c.weight, options);
      return [grads.gradInput, grads.gradWeight, ...(c.bias ? [grads.gradBias] : [])];
    },
    tolerance: { atol: 1e-4 * Math.max(1, Math.sqrt(terms)), rtol: 1e-4 },
    gradTolerance: { atol: 1e-3 * Math.max(1, Math.sqrt(terms)), rtol: 1e-3 },
  };
}

function batchNormCheck(shape: Shape4, training: boolean): OpCheck {
  const rng = mulberry32(11);
  const channels = shape[1];
  return {
    name: `batchNorm2d ${training ? 'train' : 'eval'} ${shape.join('x')}`,
    inputs: [
      { shape: [...shape], data: randn(shape[0] * channels * shape[2] * shape[3], rng).map((v) => 3 * v + 0.5) },
      { shape: [channels], data: randUniform(channels, rng, 0.5, 1.5) },
      { shape: [channels], data: randn(channels, rng) },
      { shape: [channels], data: randn(channels, rng), grad: false },
      { shape: [channels], data: randUniform(channels, rng, 0.5, 2), grad: false },
    ],
    gpu: (_, [x, w, b, rm, rv]) => batchNorm2d(x, w, b, rm, rv, { training }),
    reference: ([x, w, b, rm, rv]) => (training ? ref.batchNorm2dTrainForward(x, shape, w, b, rm, rv).output : ref.batchNorm2dEvalForward(x, shape, w, b, rm, rv)),
    referenceBackward: ([x, w, b, rm, rv], g) => {
      if (!training) {
        const grads = ref.batchNorm2dEvalBackward(g, x, shape, w, rm, rv);
        return [grads.gradInput, grads.gradWeight, grads.gradBias, null, null];
      }
      const forward = ref.batchNorm2dTrainForward(x, shape, w, b, rm, rv);
      const grads = ref.batchNorm2dTrainBackward(g, x, shape, w, forward.mean, forward.variance);
      return [grads.gradInput, grads.gradWeight, grads.gradBias, null, null];
    },
    tolerance: { atol: 1e-4, rtol: 1e-4 },
    gradTolerance: { atol: 2e-4, rtol: 1e-3 },
  };
}

/** Six Adam steps on a multi-tensor group against the float64 reference; returns the values after each step. */
async function adamCase(engine: Engine): Promise<number[][]> {
  const specs = [{ name: 'a', shape: [5] }, { name: 'b', shape: [3, 7] }, { name: 'c', shape: [2, 65] }];
  const options = { lr: 2e-3, beta1: 0.5, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const group = new ParameterGroup(engine, specs, 'browser-adam');
  const optimizer = new Adam(group, { lr: options.lr, betas: [options.beta1, options.beta2], eps: options.eps, weightDecay: options.weightDecay });
  const rng = mulberry32(5);
  const host = new Map<string, { param: Float64Array; state: ref.AdamState }>(specs.map((spec) => {
    const values = Float64Array.from(Float32Array.from(randn(group.get(spec.name).size, rng)));
    group.set(spec.name, Float32Array.from(values));
    return [spec.name, { param: values, state: ref.adamInitialState(values.length) }] as const;
  }));
  const trajectory: number[][] = [];
  try {
    for (let step = 0; step < 6; step++) {
      for (const spec of specs) {
        const grad = Float64Array.from(Float32Array.from(randn(group.get(spec.name).size, rng).map((g) => g * 10 ** (step % 3 - 1))));
        engine.upload(group.get(spec.name).grad!, Float32Array.from(grad));
        const entry = host.get(spec.name)!;
        host.set(spec.name, ref.adamStep(entry.param, grad, entry.state, options));
      }
      optimizer.step();
      const values = await engine.read(specs.map((spec) => group.get(spec.name)));
      specs.forEach((spec, i) => assertClose(values[i], host.get(spec.name)!.param, { atol: 1e-6, rtol: 1e-6 }, `Adam ${spec.name} step ${step + 1}`));
      trajectory.push(values.flatMap((v) => Array.from(v)));
    }
  } finally {
    optimizer.dispose();
    group.dispose();
  }
  return trajectory;
}

const checks: OpCheck[] = [
  convCheck({ x: [1, 3, 7, 5], weight: [4, 3, 3, 3], stride: 1, padding: 1, bias: true }, false),
  convCheck({ x: [3, 4, 16, 14], weight: [9, 4, 4, 4], stride: 2, padding: 1, bias: false }, false),
  convCheck({ x: [2, 5, 5, 7], weight: [5, 3, 4, 4], stride: 2, padding: 1, bias: true }, true),
  convCheck({ x: [3, 6, 1, 1], weight: [6, 5, 4, 4], stride: 1, padding: 0, bias: false }, true),
  batchNormCheck([3, 7, 5, 5], true),
  batchNormCheck([2, 3, 17, 19], false),
];

/** f16 kept activations: values f16 holds pack to their binary16 bits and come back exactly; returns them unpacked. */
async function halfStorageCase(engine: Engine): Promise<number[][]> {
  const rng = mulberry32(13);
  const results: number[][] = [];
  for (const size of [7, 4100]) {
    const exact = exactHalfValues(size, () => randn(1, rng)[0]!);
    const x = engine.fromArray(exact, [size], 'f32', 'half.x');
    const packed = packHalf(x);
    const unpacked = unpackHalf(packed, x.shape);
    const [words, back] = await engine.read([packed, unpacked]);
    for (const t of [x, packed, unpacked]) t.dispose();
    for (let i = 0; i < size; i++) {
      if (halfOfWords(words as Uint32Array, i) !== halfBits(exact[i]!)) throw new Error(`size ${size}: element ${i} (${exact[i]}) packed as ${halfOfWords(words as Uint32Array, i)}`);
      if (back![i] !== exact[i]) throw new Error(`size ${size}: element ${i} (${exact[i]}) came back as ${back![i]}`);
    }
    results.push(Array.from(back!));
  }
  return results;
}

/**
 * A budget the pool must evict to keep: work recorded over a buffer is submitted before the buffer is
 * destroyed (the browser's WebGPU refuses a submit that uses a destroyed buffer). Returns both results.
 */
async function evictionCase(): Promise<number[][]> {
  const engine = await Engine.create({ seed: 1, maxBytes: 12 * 1024 + 256 });
  try {
    const x = engine.fromArray(Float32Array.from({ length: 1024 }, (_, i) => i), [1024], 'f32', 'evict.x');
    const small = engine.fromArray(Float32Array.of(2, 4), [2], 'f32', 'evict.small');
    const temporary = scale(x, 3);
    const tripled = scale(temporary, 1);
    temporary.dispose();
    // 256 bytes more than the budget leaves: the temporary's pooled 4 KiB go, with its pending dispatches submitted first.
    const halved = scale(small, 0.5);
    if (engine.memory().evictedBytes !== 4096) throw new Error(`evicted ${engine.memory().evictedBytes} bytes, expected 4096`);
    const [triples, halves] = await engine.read([tripled, halved]);
    if (triples![1023] !== 3069 || halves![0] !== 1) throw new Error(`after the eviction: ${triples![1023]}, ${halves![0]}`);
    return [Array.from(triples!), Array.from(halves!)];
  } finally {
    engine.destroy();
  }
}

/** BatchNorm + LeakyReLU -> dropout -> conv2d: its weight gradient with the conv's input kept and rebuilt, bit for bit the same. */
async function recomputeCase(engine: Engine): Promise<number[][]> {
  const rng = mulberry32(17);
  const xValues = Float32Array.from(randn(2 * 4 * 8 * 8, rng));
  const wValues = Float32Array.from(randn(3 * 4 * 9, rng), (v) => 0.3 * v);
  const gradients: number[][] = [];
  for (const recompute of [false, true]) {
    engine.recomputeActivations = recompute;
    engine.randomCounter = 0;
    const x = parameter(engine.fromArray(xValues, [2, 4, 8, 8], 'f32', 'recompute.x'));
    const weight = parameter(engine.fromArray(wValues, [3, 4, 3, 3], 'f32', 'recompute.weight'));
    const [gamma, beta, mean, variance] = [1, 0, 0, 1].map((v) => engine.fromArray(new Float32Array(4).fill(v), [4]));
    engine.tidy(() => {
      const h = dropout(batchNormActivation(x, gamma!, beta!, mean!, variance!, { training: true }, { leakyRelu: 0.2 }), 0.3, true);
      backward(sum(conv2d(h, weight, null, { padding: 1 })));
    });
    const [dx, dw] = await engine.read([x.grad!, weight.grad!]);
    gradients.push(Array.from(dx!), Array.from(dw!));
    for (const t of [x, weight, gamma!, beta!, mean!, variance!]) t.dispose();
  }
  engine.recomputeActivations = false;
  gradients.slice(0, 2).forEach((kept, i) => {
    const rebuilt = gradients[i + 2]!;
    if (kept.some((v, j) => v !== rebuilt[j])) throw new Error(`gradient ${i}: rebuilt input's differs from the kept input's`);
  });
  return gradients.slice(2);
}

/** Runs every case; a failing case is reported, not thrown, so one run shows them all. */
export async function runKernelSuite(engine: Engine): Promise<KernelCaseResult[]> {
  const results: KernelCaseResult[] = [];
  const attempt = async (name: string, body: () => Promise<number[][]>) => {
    const began = performance.now();
    try {
      results.push({ name, error: null, outputs: await body(), seconds: (performance.now() - began) / 1000 });
    } catch (error) {
      results.push({ name, error: (error as Error).message, outputs: [], seconds: (performance.now() - began) / 1000 });
    }
  };
  for (const check of checks) {
    await attempt(check.name, async () => {
      await checkOp(engine, check);
      return rawOutputs(engine, check);
    });
  }
  await attempt('Adam 6 steps on a 3-tensor group', () => adamCase(engine));
  await attempt('packHalf / unpackHalf (f16 kept activations)', () => halfStorageCase(engine));
  await attempt('a budget the pool evicts to keep', () => evictionCase());
  await attempt('a conv input rebuilt in backward (--recompute-activations)', () => recomputeCase(engine));
  return results;
}
