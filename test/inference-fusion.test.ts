// Inference fusion: a PReLU applied in the conv's stores (every gather family), and an eval-mode
// BatchNorm folded into the conv's weight and bias, each against the float64 reference.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, testEngine } from './helpers/engine.ts';
import type { Engine } from '../engine/runtime.ts';
import { assertClose } from './helpers/finite-diff.ts';
import * as ref from './helpers/reference.ts';
import type { Shape4 } from './helpers/reference.ts';
import { mulberry32, randn } from './helpers/random.ts';
import { noGrad, parameter } from '../engine/autograd.ts';
import { conv2d, convTranspose2d } from '../engine/ops/conv.ts';
import { convTuning, type ConvActivation, type GatherVariant } from '../engine/ops/conv-kernels.ts';
import type { Tensor } from '../engine/tensor.ts';
import { foldBatchNorm } from '../engine/ops/batchnorm-fold.ts';
import { layerFusion } from '../models/batchnorm-layer.ts';
import type { Module } from '../models/module.ts';
import { SrDiscriminator, SrGenerator, srganConfigs } from '../models/srgan.ts';
import { CganDiscriminator, CganGenerator, cganConfigs, cganImageSize } from '../models/cgan.ts';
import { Classifier, classifierConfigs } from '../models/classifier.ts';

interface Case { x: Shape4; weight: Shape4; stride: number; padding: number; bias: boolean; transposed: boolean }

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const rng = mulberry32(97);
const upload = (engine: Engine, values: Float64Array, shape: readonly number[]) => engine.fromArray(Float32Array.from(values), shape);

/** The float64 conv (or convTranspose2d) of a case. */
function referenceConv(c: Case, x: Float64Array, weight: Float64Array, bias: Float64Array | null): ref.ConvForwardResult {
  const options = { stride: c.stride, padding: c.padding, outputPadding: 0 };
  return (c.transposed ? ref.convTranspose2dForward : ref.conv2dForward)(x, c.x, weight, c.weight, bias, options);
}

function engineConv(c: Case, x: Tensor, weight: Tensor, bias: Tensor | null, activation: ConvActivation): Tensor {
  const options = { stride: c.stride, padding: c.padding, activation };
  return c.transposed ? convTranspose2d(x, weight, bias, options) : conv2d(x, weight, bias, options);
}

/** Checks prelu(conv(x) + b) with `slope` fused into the stores against the reference, under `variant`. */
async function checkFusedPrelu(engine: Engine, c: Case, variant: GatherVariant | null, slope: number): Promise<void> {
  const x = randn(size(c.x), rng);
  const weight = randn(size(c.weight), rng);
  const outChannels = c.weight[c.transposed ? 1 : 0];
  const bias = c.bias ? randn(outChannels, rng) : null;
  const expected = ref.preluForward(referenceConv(c, x, weight, bias).output, Float64Array.of(slope));
  const saved = { ...convTuning };
  try {
    Object.assign(convTuning, { gather: variant, weightGrad: null });
    const out = engine.tidy(() => noGrad(engine, () => engineConv(c, upload(engine, x, c.x), upload(engine, weight, c.weight),
      bias ? upload(engine, bias, [outChannels]) : null, { prelu: upload(engine, Float64Array.of(slope), [1]) })));
    const [actual] = await engine.read([out]);
    out.dispose();
    const terms = size(c.weight) / outChannels;
    assertClose(actual!, expected, { atol: 1e-4 * Math.max(1, Math.sqrt(terms)), rtol: 1e-4 }, `${variant ?? 'default'} ${JSON.stringify(c)} slope ${slope}`);
  } finally {
    Object.assign(convTuning, saved);
  }
}

const k3: Case = { x: [2, 5, 9, 8], weight: [3, 5, 3, 3], stride: 1, padding: 1, bias: true, transposed: false };
const k4Transposed: Case = { x: [2, 6, 5, 7], weight: [6, 3, 4, 4], stride: 2, padding: 1, bias: false, transposed: true };

test('a PReLU fused into the conv stores agrees with the reference in every gather family', async () => {
  const engine = await testEngine();
  const families: Array<[GatherVariant | null, Case[]]> = [
    [null, [k3, k4Transposed]], ['gather4', [k3, k4Transposed]], ['strip8', [k3, k4Transposed]], ['subgroup16', [k3, k4Transposed]],
    ['pixels8', [k3]], ['phases8', [k4Transposed]],
    // The Winograd forms' output transforms: k4 s2 p1 (F(3x3, 2x2)), k3 s1 p1 (F(2x2, 3x3) and F(4x4, 3x3)).
    ['winograd', [{ x: [2, 8, 8, 8], weight: [32, 8, 4, 4], stride: 2, padding: 1, bias: true, transposed: false },
      { x: [2, 8, 7, 9], weight: [33, 8, 3, 3], stride: 1, padding: 1, bias: false, transposed: false }]],
    // F(4x4, 3x3) on rows of 10 (scalar stores) and of 12 (a vec4 per tile row).
    ['winograd4', [{ x: [2, 8, 12, 10], weight: [32, 8, 3, 3], stride: 1, padding: 1, bias: true, transposed: false },
      { x: [1, 8, 9, 12], weight: [32, 8, 3, 3], stride: 1, padding: 1, bias: false, transposed: false }]],
  ];
  for (const [variant, cases] of families) {
    for (const c of cases) {
      await checkFusedPrelu(engine, c, variant, -0.3);
      await checkFusedPrelu(engine, c, variant, 0.25);
    }
  }
  // A tile and a split tile (the activation once the splits are added): a GPU-sized engine, long reductions.
  const gpuSized = await createEngine({ seed: 2468, adapterKind: 'gpu' });
  try {
    const tileCase: Case = { x: [2, 40, 9, 7], weight: [20, 40, 3, 3], stride: 1, padding: 1, bias: true, transposed: false };
    for (const variant of ['tile64x64', 'tile64x64s'] as const) await checkFusedPrelu(gpuSized, tileCase, variant, 0.1);
  } finally {
    gpuSized.destroy();
  }
});

test('a fused PReLU takes one slope and is refused where a gradient would be recorded', async () => {
  const engine = await testEngine();
  engine.tidy(() => {
    const x = engine.fromArray(new Float32Array(9).fill(1), [1, 1, 3, 3]);
    const weight = parameter(engine.fromArray(new Float32Array([1]), [1, 1, 1, 1]));
    const slope = engine.fromArray(new Float32Array([0.25]), [1]);
    assert.throws(() => conv2d(x, weight, null, { activation: { prelu: slope } }), /conv2d: a fused PReLU is for inference \(it has no backward\); run it under noGrad/);
    const twoSlopes = engine.fromArray(new Float32Array([0.25, 0.5]), [2]);
    assert.throws(() => noGrad(engine, () => conv2d(x, weight, null, { activation: { prelu: twoSlopes } })), /conv2d: a fused PReLU takes one slope, got \[2\]/);
  });
});

test('an eval BatchNorm folded into conv2d and convTranspose2d weights agrees with conv then BatchNorm', async () => {
  const engine = await testEngine();
  const cases: Case[] = [
    { x: [2, 5, 9, 8], weight: [7, 5, 3, 3], stride: 1, padding: 1, bias: true, transposed: false },
    { x: [2, 6, 5, 4], weight: [6, 9, 4, 4], stride: 2, padding: 1, bias: false, transposed: true },
  ];
  for (const c of cases) {
    const outChannels = c.weight[c.transposed ? 1 : 0];
    const x = randn(size(c.x), rng);
    const weight = randn(size(c.weight), rng);
    const bias = c.bias ? randn(outChannels, rng) : null;
    const gamma = randn(outChannels, rng);
    const beta = randn(outChannels, rng);
    const mean = randn(outChannels, rng);
    const variance = randn(outChannels, rng).map((v) => 0.2 + v * v);
    const conv = referenceConv(c, x, weight, bias);
    const expected = ref.batchNorm2dEvalForward(conv.output, conv.outputShape, gamma, beta, mean, variance, 1e-5);
    const out = engine.tidy(() => noGrad(engine, () => {
      const bn = { weight: upload(engine, gamma, [outChannels]), bias: upload(engine, beta, [outChannels]), runningMean: upload(engine, mean, [outChannels]), runningVar: upload(engine, variance, [outChannels]), eps: 1e-5 };
      const folded = foldBatchNorm(upload(engine, weight, c.weight), bias ? upload(engine, bias, [outChannels]) : null, bn, c.transposed ? 1 : 0);
      return engineConv(c, upload(engine, x, c.x), folded.weight, folded.bias, 'none');
    }));
    const [actual] = await engine.read([out]);
    out.dispose();
    assertClose(actual!, expected, { atol: 1e-4 * Math.max(1, Math.sqrt(size(c.weight) / outChannels)) * 4, rtol: 1e-4 }, `folded ${JSON.stringify(c)}`);
  }
  const weight = engine.fromArray(new Float32Array(2 * 3 * 9), [2, 3, 3, 3]);
  const three = engine.fromArray(new Float32Array(3), [3]);
  assert.throws(() => foldBatchNorm(weight, null, { weight: three, bias: three, runningMean: three, runningVar: three, eps: 1e-5 }, 0),
    /foldBatchNorm: BN weight \[3\] does not match 2 output channels of weight \[2,3,3,3\]/);
  weight.dispose();
  three.dispose();
});

/**
 * Runs `forward` in eval mode under noGrad with inference folding on and off and compares the outputs.
 * The BatchNorms get random affine weights and running statistics first (their initial mean 0, var 1
 * and weight 1 would make folding the identity), the PReLUs random slopes (all start at 0.25).
 */
async function checkFoldedModel(engine: Engine, label: string, modules: Module[], forward: () => Tensor, atol: number): Promise<void> {
  for (const module of modules) {
    module.initialize(5);
    for (const spec of module.specs) {
      if (spec.role === 'counter') continue;
      // PReLU slopes, each its own (so that a slope applied in the wrong layer shows).
      if (/act\.weight$/.test(spec.name)) engine.upload(module.tensor(spec.name), Float32Array.of(0.1 + 0.3 * rng()));
      if (!/(^|\.)bn[12]?\./.test(spec.name)) continue;
      // Near the identity, so that deep models neither vanish nor saturate: weight 1 +- 0.3, var 0.5-1.5, bias and mean +- 0.2.
      const values = randn(size(spec.shape), rng);
      const perturbed = spec.name.endsWith('running_var') ? values.map((v) => 0.5 + Math.min(1, v * v))
        : spec.name.endsWith('weight') ? values.map((v) => 1 + 0.3 * v) : values.map((v) => 0.2 * v);
      engine.upload(module.tensor(spec.name), Float32Array.from(perturbed));
    }
  }
  const outputs: Float32Array[] = [];
  const saved = layerFusion.inferenceFolding;
  try {
    for (const folding of [false, true]) {
      layerFusion.inferenceFolding = folding;
      const out = engine.tidy(() => noGrad(engine, forward));
      outputs.push((await engine.read([out]))[0] as Float32Array);
      out.dispose();
    }
  } finally {
    layerFusion.inferenceFolding = saved;
  }
  assertClose(outputs[1]!, outputs[0]!, { atol, rtol: 1e-4 }, label);
  // Something to compare: outputs that are neither constant nor saturated (tanh) everywhere.
  const distinct = new Set(outputs[0]!.filter((v) => Math.abs(v) < 0.999)).size;
  assert.ok(distinct >= Math.min(outputs[0]!.length, Math.ceil(outputs[0]!.length / 4) + 1), `${label}: ${distinct} distinct outputs of ${outputs[0]!.length}`);
}

test('models in eval mode give the same outputs with their BatchNorms folded into the convs', async () => {
  const engine = await testEngine();
  const images = (n: number, side: number) => upload(engine, randn(n * side * side, rng).map(Math.tanh), [n, 1, side, side]);
  const labels = () => engine.fromArray(Int32Array.from([0, 2]), [2], 'i32');
  const cgan = cganConfigs.tiny;
  const srGenerator = new SrGenerator(engine, srganConfigs.tiny);
  const srDiscriminator = new SrDiscriminator(engine, srganConfigs.tiny);
  const generator = new CganGenerator(engine, cgan);
  const discriminator = new CganDiscriminator(engine, cgan);
  const classifier = new Classifier(engine, classifierConfigs.tiny);
  const side = cganImageSize(cgan);
  // Inputs made once, outside the forwards' scopes: both runs see the same.
  const [lowRes, crops, z, fakes, xrays] = [images(2, 12), images(2, 16), upload(engine, randn(2 * cgan.zDim, rng), [2, cgan.zDim]), images(2, side), images(2, 32)];
  const classes = labels();
  try {
    await checkFoldedModel(engine, 'SRGAN generator', [srGenerator], () => srGenerator.forward(lowRes, false), 1e-4);
    await checkFoldedModel(engine, 'SRGAN discriminator', [srDiscriminator], () => srDiscriminator.forward(crops, false), 1e-4);
    await checkFoldedModel(engine, 'CGAN generator', [generator], () => generator.forward(z, classes, false), 1e-4);
    await checkFoldedModel(engine, 'CGAN discriminator', [discriminator], () => discriminator.forward(fakes, classes, false), 1e-4);
    await checkFoldedModel(engine, 'classifier', [classifier], () => classifier.forward(xrays, false).logits, 1e-4);
  } finally {
    for (const tensor of [lowRes, crops, z, fakes, xrays, classes]) tensor.dispose();
    for (const module of [srGenerator, srDiscriminator, generator, discriminator, classifier]) module.dispose();
  }
});

test.run();
