// Layout ops (reshape, embedding, channel concatenation, pixel shuffle, global average pooling)
// against the float64 reference, by finite differences on small shapes, and the PyTorch vectors.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Tensor } from '../engine/tensor.ts';
import { backward } from '../engine/ops/backward.ts';
import { scale, tanh } from '../engine/ops/elementwise.ts';
import { sum } from '../engine/ops/reduce.ts';
import {
  checkEmbeddingIndices, concatChannels, embedding, flatten, globalAvgPool, pixelShuffle, pixelUnshuffle, reshape,
} from '../engine/ops/layout.ts';
import { testEngine } from './helpers/engine.ts';
import { checkTorchCases } from './helpers/torch-check.ts';
import { checkOp } from './helpers/gpu-check.ts';
import { mulberry32, randInt, randn } from './helpers/random.ts';
import * as ref from './helpers/reference.ts';
import type { Shape4 } from './helpers/reference.ts';

test('reshape chain passes gradients through views', async () => {
  const engine = await testEngine();
  const shape = [2, 3, 4];
  await checkOp(engine, {
    name: 'reshape chain',
    inputs: [{ shape }],
    // tanh between the views checks that the gradient is routed through each reshape's tape node.
    gpu: (_, [x]) => reshape(tanh(flatten(reshape(x, [6, -1]))), [4, 3, 2]),
    reference: ([x]) => ref.tanhForward(x),
  });
  assert.throws(() => reshape(engine.empty([6]), [4, -1]), /cannot reshape/);
  assert.throws(() => reshape(engine.empty([6]), [-1, -1]), /more than one -1/);
});

test('reshape gradient reaches a parameter', async () => {
  const engine = await testEngine();
  const x = engine.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
  x.requiresGrad = true;
  backward(sum(scale(reshape(reshape(x, [3, 2]), [6]), 2)));
  const [grad] = await engine.read([x.grad!]);
  assert.equal(Array.from(grad), [2, 2, 2, 2, 2, 2]);
  x.dispose();
});

test('embedding with repeated indices, forward and deterministic backward', async () => {
  const engine = await testEngine();
  for (const [rows, dim, indices] of [[5, 4, [0, 3, 3, 1, 0, 3]], [3, 50, randInt(64, mulberry32(9), 3)], [1, 1, [0]]] as const) {
    const data = Array.from(indices);
    const check = {
      name: `embedding [${rows}, ${dim}][${data.length}]`,
      inputs: [{ shape: [data.length], data, dtype: 'i32' as const }, { shape: [rows, dim] }],
      gpu: (_: unknown, [index, weight]: Tensor[]) => embedding(index, weight),
      reference: ([index, weight]: Float64Array[]) => ref.embeddingForward(index, weight, rows, dim),
    };
    await checkOp(engine, rows * dim <= 200 ? check : {
      ...check,
      referenceBackward: ([index], g) => [null, ref.embeddingBackward(g, index, rows, dim)],
    });
  }
  // The same gradient twice, bit for bit: no atomics, a fixed summation order.
  const rng = mulberry32(5);
  const index = engine.fromArray(randInt(256, rng, 3), [256], 'i32');
  const weight = engine.fromArray(randn(3 * 16384, rng), [3, 16384]);
  weight.requiresGrad = true;
  const grads: Float32Array[] = [];
  for (let run = 0; run < 2; run++) {
    const out = embedding(index, weight);
    backward(out, engine.fromArray(randn(out.size, mulberry32(11)), out.shape));
    grads.push((await engine.read([weight.grad!]))[0] as Float32Array);
    weight.grad!.dispose();
    weight.grad = null;
  }
  assert.ok(grads[0].every((value, i) => Object.is(value, grads[1][i])), 'embedding backward is bit-reproducible');
  assert.throws(() => checkEmbeddingIndices([0, 2, 3], 3), /index 3 at position 2/);
  for (const t of [index, weight]) t.dispose();
});

test('concatChannels of three tensors with odd channel counts', async () => {
  const engine = await testEngine();
  const shapes: Shape4[] = [[2, 1, 3, 5], [2, 3, 3, 5], [2, 5, 3, 5]];
  await checkOp(engine, {
    name: 'concatChannels 1+3+5',
    inputs: shapes.map((shape) => ({ shape: [...shape] })),
    gpu: (_, tensors) => concatChannels(tensors),
    reference: (inputs) => ref.concatChannelsForward(inputs, shapes).output,
    referenceBackward: (_, g) => ref.concatChannelsBackward(g, shapes),
  });
  // 2-d inputs concatenate along features (the CGAN's z and label embedding).
  await checkOp(engine, {
    name: 'concatChannels 2-d',
    inputs: [{ shape: [3, 4] }, { shape: [3, 2] }],
    gpu: (_, tensors) => concatChannels(tensors),
    reference: (inputs) => ref.concatChannelsForward(inputs, [[3, 4, 1, 1], [3, 2, 1, 1]]).output,
  });
  assert.throws(() => concatChannels([engine.empty([2, 1, 3, 3]), engine.empty([2, 1, 3, 4])]), /does not match/);
});

test('pixelShuffle r=2 and r=3, and its inverse', async () => {
  const engine = await testEngine();
  // [1, 4, 3, 70]: rows wider than one 64-lane workgroup.
  for (const [xShape, factor] of [[[2, 8, 3, 5], 2], [[1, 18, 2, 3], 3], [[1, 4, 1, 1], 2], [[1, 4, 3, 70], 2]] as Array<[Shape4, number]>) {
    await checkOp(engine, {
      name: `pixelShuffle ${xShape} r=${factor}`,
      inputs: [{ shape: [...xShape] }],
      gpu: (_, [x]) => pixelShuffle(x, factor),
      reference: ([x]) => ref.pixelShuffleForward(x, xShape, factor).output,
    });
    const [n, c, h, w] = xShape;
    const shuffledShape: Shape4 = [n, c / factor ** 2, h * factor, w * factor];
    await checkOp(engine, {
      name: `pixelUnshuffle ${shuffledShape} r=${factor}`,
      inputs: [{ shape: [...shuffledShape] }],
      gpu: (_, [x]) => pixelUnshuffle(x, factor),
      // Unshuffle is the inverse permutation, which is exactly pixelShuffle's backward.
      reference: ([x]) => ref.pixelShuffleBackward(x, xShape, factor),
    });
  }
  await checkOp(engine, {
    name: 'pixelShuffle SRGAN-sized',
    inputs: [{ shape: [2, 256, 12, 12] }],
    gpu: (_, [x]) => pixelShuffle(x, 2),
    reference: ([x]) => ref.pixelShuffleForward(x, [2, 256, 12, 12], 2).output,
    referenceBackward: (_, g) => [ref.pixelShuffleBackward(g, [2, 256, 12, 12], 2)],
  });
  assert.throws(() => pixelShuffle(engine.empty([1, 6, 2, 2]), 2), /not divisible/);
});

test('pixelShuffle over more planes than one grid dimension holds (65,537: two dispatches)', async () => {
  const engine = await testEngine();
  const xShape: Shape4 = [1, 4 * 65537, 1, 1];
  await checkOp(engine, {
    name: 'pixelShuffle 65537 planes',
    inputs: [{ shape: [...xShape] }],
    gpu: (_, [x]) => pixelShuffle(x, 2),
    reference: ([x]) => ref.pixelShuffleForward(x, xShape, 2).output,
    referenceBackward: (_, g) => [ref.pixelShuffleBackward(g, xShape, 2)],
  });
});

test('globalAvgPool on 1x1, 7x5 and a discriminator-sized input', async () => {
  const engine = await testEngine();
  for (const xShape of [[3, 2, 1, 1], [2, 3, 7, 5], [1, 1, 1, 1]] as Shape4[]) {
    await checkOp(engine, {
      name: `globalAvgPool ${xShape}`,
      inputs: [{ shape: [...xShape] }],
      gpu: (_, [x]) => globalAvgPool(x),
      reference: ([x]) => ref.globalAvgPoolForward(x, xShape),
    });
  }
  const big: Shape4 = [4, 512, 6, 6];
  await checkOp(engine, {
    name: `globalAvgPool ${big}`,
    inputs: [{ shape: [...big] }],
    gpu: (_, [x]) => globalAvgPool(x),
    reference: ([x]) => ref.globalAvgPoolForward(x, big),
    referenceBackward: (_, g) => [ref.globalAvgPoolBackward(g, big)],
  });
});

test('layout ops match the PyTorch vectors', async () => {
  const seen = await checkTorchCases(await testEngine(), {
    embedding: (t) => embedding(t.indices, t.weight),
    concat_channels: (t) => concatChannels([t.input0, t.input1]),
    pixel_shuffle: (t, config) => pixelShuffle(t.x, config.upscale_factor as number),
    global_avg_pool: (t) => globalAvgPool(t.x),
  });
  assert.equal(seen, ['concat_channels', 'embedding', 'global_avg_pool', 'pixel_shuffle_r2', 'pixel_shuffle_r3']);
});

test.run();
