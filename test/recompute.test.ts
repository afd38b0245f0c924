// Activations rebuilt in backward (engine/ops/recompute.ts): a conv whose input a BatchNorm made
// (through its fused activation, and a dropout) keeps what that BatchNorm keeps instead of its input,
// and gives the gradients it gives when keeping the input, bit for bit; the input is then freed as
// soon as the conv has read it; a recipe whose BatchNorm was not recorded is not used.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testEngine } from './helpers/engine.ts';
import { mulberry32, randn, randUniform } from './helpers/random.ts';
import { conv2d, convTranspose2d } from '../engine/ops/conv.ts';
import { batchNorm2d, batchNormActivation } from '../engine/ops/batchnorm.ts';
import { dropout } from '../engine/ops/random.ts';
import { mul } from '../engine/ops/elementwise.ts';
import { sum } from '../engine/ops/reduce.ts';
import { backward } from '../engine/ops/backward.ts';
import { parameter } from '../engine/autograd.ts';
import { sizeClass } from '../engine/memory.ts';
import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import { runLayers, type Layer } from '../models/layer-sequence.ts';

const rng = mulberry32(31);

interface ChainCase {
  name: string;
  transposed: boolean;
  activation: 'leakyRelu' | 'prelu' | 'none';
  dropout: boolean;
}

const cases: ChainCase[] = [
  { name: 'conv2d -> BN + LeakyReLU -> dropout -> conv2d (the CGAN discriminator)', transposed: false, activation: 'leakyRelu', dropout: true },
  { name: 'convTranspose2d -> BN + LeakyReLU -> convTranspose2d (the CGAN generator)', transposed: true, activation: 'leakyRelu', dropout: false },
  { name: 'conv2d -> BN + PReLU -> conv2d (the SRGAN residual blocks)', transposed: false, activation: 'prelu', dropout: false },
  { name: 'conv2d -> BN -> dropout -> conv2d', transposed: false, activation: 'none', dropout: true },
];

const CHANNELS = 6;

/** The leaves of a chain: x, the two conv weights, BN's scale and shift, and PReLU's weight. */
function leafValues(): Float64Array[] {
  const sizes = [2 * 4 * 16 * 16, CHANNELS * 4 * 3 * 3, CHANNELS * 5 * 3 * 3, CHANNELS, CHANNELS, 1];
  return sizes.map((n, i) => (i === 3 ? randUniform(n, rng, 0.5, 1.5) : i === 5 ? Float64Array.of(0.25) : randn(n, rng).map((v) => (i === 0 ? v : 0.3 * v))));
}

function chainLayers(engine: Engine, c: ChainCase, [w1, w2, gamma, beta, slope]: Tensor[]): Layer[] {
  const conv = c.transposed ? convTranspose2d : conv2d;
  const stats = (): [Tensor, Tensor] => [engine.fromArray(new Float32Array(CHANNELS), [CHANNELS]), engine.fromArray(new Float32Array(CHANNELS).fill(1), [CHANNELS])];
  const layers: Layer[] = [
    (h) => conv(h, w1!, null, { stride: 1, padding: 1 }),
    (h) => c.activation === 'none'
      ? batchNorm2d(h, gamma!, beta!, ...stats(), { training: true })
      : batchNormActivation(h, gamma!, beta!, ...stats(), { training: true }, c.activation === 'prelu' ? { prelu: slope! } : { leakyRelu: 0.2 }),
  ];
  if (c.dropout) layers.push((h) => dropout(h, 0.3, true));
  layers.push((h) => conv(h, w2!, null, { stride: 1, padding: 1 }));
  return layers;
}

/** Gradients of sum(chain(x) * r) with recomputation on or off, and the live bytes between forward and backward. */
async function chainGradients(engine: Engine, c: ChainCase, values: Float64Array[], recompute: boolean) {
  engine.recomputeActivations = recompute;
  // The same dropout mask on both sides.
  engine.randomCounter = 0;
  try {
    const shapes = [[2, 4, 16, 16], c.transposed ? [4, CHANNELS, 3, 3] : [CHANNELS, 4, 3, 3], c.transposed ? [CHANNELS, 5, 3, 3] : [5, CHANNELS, 3, 3], [CHANNELS], [CHANNELS], [1]];
    const leaves = values.map((v, i) => parameter(engine.fromArray(Float32Array.from(v), shapes[i]!)));
    let liveAfterForward = 0;
    engine.tidy(() => {
      const out = runLayers(leaves[0]!, chainLayers(engine, c, leaves.slice(1)));
      liveAfterForward = engine.memory().liveBytes;
      backward(sum(mul(out, engine.fromArray(Float32Array.from(randn(out.size, mulberry32(5))), out.shape))));
    });
    const used = c.activation === 'prelu' ? leaves : leaves.slice(0, 5);
    const grads = await engine.read(used.map((t) => t.grad!));
    for (const leaf of leaves) leaf.dispose();
    return { grads: grads.map((g) => Array.from(g)), liveAfterForward };
  } finally {
    engine.recomputeActivations = false;
  }
}

test('a conv after a BatchNorm rebuilds its input in backward: the same gradients bit for bit, one activation less held', async () => {
  const engine = await testEngine();
  for (const c of cases) {
    const values = leafValues();
    const live = engine.memory().liveBytes;
    const kept = await chainGradients(engine, c, values, false);
    const rebuilt = await chainGradients(engine, c, values, true);
    kept.grads.forEach((g, i) => assert.equal(rebuilt.grads[i], g, `${c.name}: gradient of leaf ${i}`));
    // The second conv's input ([2, 6, 16, 16] f32) is no longer held between forward and backward.
    assert.is(kept.liveAfterForward - rebuilt.liveAfterForward, sizeClass(2 * CHANNELS * 16 * 16 * 4), c.name);
    assert.is(engine.memory().liveBytes, live, `${c.name}: nothing left behind`);
  }
});

test('a BatchNorm that was not recorded leaves no recipe to use: the conv after it keeps its input', async () => {
  const engine = await testEngine();
  engine.recomputeActivations = true;
  try {
    // Nothing before the second conv takes a gradient, so the BatchNorm is not recorded and frees its statistics.
    const x = engine.fromArray(Float32Array.from(randn(2 * CHANNELS * 8 * 8, rng)), [2, CHANNELS, 8, 8]);
    const gamma = engine.fromArray(new Float32Array(CHANNELS).fill(1), [CHANNELS]);
    const beta = engine.fromArray(new Float32Array(CHANNELS), [CHANNELS]);
    const running = [engine.fromArray(new Float32Array(CHANNELS), [CHANNELS]), engine.fromArray(new Float32Array(CHANNELS).fill(1), [CHANNELS])] as const;
    const weight = parameter(engine.fromArray(Float32Array.from(randn(3 * CHANNELS * 9, rng)), [3, CHANNELS, 3, 3]));
    const expected = engine.tidy(() => {
      const h = batchNormActivation(x, gamma, beta, ...running, { training: true }, { leakyRelu: 0.2 });
      const out = conv2d(h, weight, null, { padding: 1 });
      assert.ok(out.gradFn!.saved.includes(h), 'the conv keeps its input');
      backward(sum(out));
      return engine.keep(sum(h));
    });
    const [gradient, total] = await engine.read([weight.grad!, expected]);
    assert.ok(gradient.every(Number.isFinite) && gradient.some((v) => v !== 0));
    assert.ok(Number.isFinite(total[0]!));
    for (const t of [x, gamma, beta, ...running, weight, expected]) t.dispose();
  } finally {
    engine.recomputeActivations = false;
  }
});

test.run();
