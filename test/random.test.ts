// The GPU Philox stream against Random123's known answers, the statistics of uniform, normal and
// dropout samples, determinism across engines, and dropout's backward reusing the forward mask.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, testEngine } from './helpers/engine.ts';
import { checkOp } from './helpers/gpu-check.ts';
import * as ref from './helpers/reference.ts';
import { dropout, randomBits, randomNormal, randomNormalRows, randomUniform } from '../engine/ops/random.ts';
import { noGrad } from '../engine/autograd.ts';
import { backward } from '../engine/ops/backward.ts';
import { sum } from '../engine/ops/reduce.ts';

/** Float64-free CPU Philox4x32-10 (BigInt products), the independent check of the WGSL. */
function philox(counter: number[], key: number[]): number[] {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0);
  let [k0, k1] = key.map((v) => v >>> 0);
  for (let round = 0; round < 10; round++) {
    const product0 = BigInt(0xd2511f53) * BigInt(c0);
    const product1 = BigInt(0xcd9e8d57) * BigInt(c2);
    const [high0, low0] = [Number(product0 >> 32n), Number(product0 & 0xffffffffn)];
    const [high1, low1] = [Number(product1 >> 32n), Number(product1 & 0xffffffffn)];
    [c0, c1, c2, c3] = [(high1 ^ c1 ^ k0) >>> 0, low1, (high0 ^ c3 ^ k1) >>> 0, low0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

test('CPU Philox matches the Random123 known answers', () => {
  assert.equal(philox([0, 0, 0, 0], [0, 0]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  assert.equal(philox([~0, ~0, ~0, ~0], [~0, ~0]), [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
  assert.equal(
    philox([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  );
});

test('GPU Philox words match the CPU one', async () => {
  const engine = await testEngine();
  const key = [0x12345678, 0x9abcdef0] as const;
  const count = 4099;
  const bits = randomBits(engine, count, key);
  const [gpu] = await engine.read([bits]);
  bits.dispose();
  for (let block = 0; block * 4 < count; block++) {
    const expected = philox([block, 0, 0, 0], [...key]);
    for (let lane = 0; lane < 4 && block * 4 + lane < count; lane++) {
      if (gpu[block * 4 + lane] !== expected[lane]) assert.unreachable(`word ${block * 4 + lane}: ${gpu[block * 4 + lane]} vs ${expected[lane]}`);
    }
  }
});

function moments(values: ArrayLike<number>): { mean: number; std: number } {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  const mean = total / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length) };
}

test('uniform and normal statistics over 1e6 samples', async () => {
  const engine = await testEngine();
  const count = 1_000_000;
  const [uniform, normal, scaled] = [randomUniform(engine, [1000, 1000]), randomNormal(engine, [count]), randomNormal(engine, [999, 1001], 2, 0.5)];
  const [u, n, s] = await engine.read([uniform, normal, scaled]);
  for (const t of [uniform, normal, scaled]) t.dispose();
  const uniformMoments = moments(u);
  // Standard error of the mean is ~3e-4 (uniform) and 1e-3 (normal): tolerances are ~5 of them.
  assert.ok(Math.abs(uniformMoments.mean - 0.5) < 1.5e-3, `uniform mean ${uniformMoments.mean}`);
  assert.ok(Math.abs(uniformMoments.std - Math.sqrt(1 / 12)) < 1.5e-3, `uniform std ${uniformMoments.std}`);
  assert.ok(u.every((v) => v > 0 && v < 1), 'uniform in (0, 1)');
  const normalMoments = moments(n);
  assert.ok(Math.abs(normalMoments.mean) < 5e-3, `normal mean ${normalMoments.mean}`);
  assert.ok(Math.abs(normalMoments.std - 1) < 5e-3, `normal std ${normalMoments.std}`);
  const tail = n.filter((v) => Math.abs(v) > 2).length / count;
  assert.ok(Math.abs(tail - 0.0455) < 2e-3, `P(|z| > 2) = ${tail}`);
  const scaledMoments = moments(s);
  assert.ok(Math.abs(scaledMoments.mean - 2) < 3e-3 && Math.abs(scaledMoments.std - 0.5) < 3e-3, `scaled normal ${JSON.stringify(scaledMoments)}`);
  // Consecutive samples (same block and neighbouring blocks) must not be correlated.
  let lagged = 0;
  for (let i = 1; i < count; i++) lagged += n[i] * n[i - 1];
  assert.ok(Math.abs(lagged / count) < 5e-3, `lag-1 correlation ${lagged / count}`);
});

test('same seed gives the same bits; another counter gives others', async () => {
  const [first, second] = [await createEngine({ seed: 99 }), await createEngine({ seed: 99 })];
  const [a] = await first.read([randomNormal(first, [5000])]);
  const [b] = await second.read([randomNormal(second, [5000])]);
  const [c] = await second.read([randomNormal(second, [5000])]);
  assert.equal(Array.from(a), Array.from(b));
  assert.ok(a.some((v, i) => v !== c[i]), 'the next key gives a new stream');
  first.destroy();
  second.destroy();
});

test('randomNormalRows: each row is a function of (seed, stream) only', async () => {
  const engine = await testEngine();
  const streams = engine.fromArray([5, 9, 5, 70000], [4], 'u32');
  const single = engine.fromArray([9], [1], 'u32');
  const [rows, alone, otherSeed] = [randomNormalRows(engine, streams, 7, 42), randomNormalRows(engine, single, 7, 42), randomNormalRows(engine, single, 7, 43)];
  const [r, a, o] = await engine.read([rows, alone, otherSeed]);
  assert.equal(Array.from(r.subarray(0, 7)), Array.from(r.subarray(14, 21)), 'same stream, same row');
  assert.equal(Array.from(r.subarray(7, 14)), Array.from(a), 'independent of the batch');
  assert.ok(a.some((v, i) => v !== o[i]), 'the seed matters');
  // Box-Muller of the CPU Philox words of block 1 of stream 9: columns 4..6.
  const words = philox([1, 1, 0, 0], [42, 9]);
  const unit = (word: number) => ((word >>> 8) + 0.5) / 16777216;
  const radius = Math.sqrt(-2 * Math.log(unit(words[0])));
  const expected = [radius * Math.cos(2 * Math.PI * unit(words[1])), radius * Math.sin(2 * Math.PI * unit(words[1])), Math.sqrt(-2 * Math.log(unit(words[2]))) * Math.cos(2 * Math.PI * unit(words[3]))];
  expected.forEach((value, i) => assert.ok(Math.abs(a[4 + i] - value) < 1e-4, `column ${4 + i}: ${a[4 + i]} vs ${value}`));
  for (const t of [streams, single, rows, alone, otherSeed]) t.dispose();
});

test('dropout keeps 1 - p of the elements, scaled by 1 / (1 - p)', async () => {
  const engine = await testEngine();
  for (const p of [0.1, 0.3, 0.5, 0.9]) {
    const ones = engine.fromArray(new Float32Array(1_000_000).fill(1), [1_000_000]);
    const dropped = dropout(ones, p, true);
    const [values] = await engine.read([dropped]);
    let kept = 0;
    for (const v of values) {
      if (v !== 0) {
        kept++;
        if (Math.abs(v - 1 / (1 - p)) > 1e-6) assert.unreachable(`kept value ${v} with p = ${p}`);
      }
    }
    assert.ok(Math.abs(kept / values.length - (1 - p)) < 2.5e-3, `p = ${p}: kept ${kept / values.length}`);
    dropped.dispose();
    ones.dispose();
  }
});

test('dropout keeps exactly the elements whose Philox word clears p * 2^32, over vec4s and over scalars', async () => {
  const engine = await testEngine();
  const p = 0.3;
  // 1000 elements take dropout_vec4, 1001 the scalar entry: both must draw the stream randomBits draws.
  for (const size of [1000, 1001]) {
    const ones = engine.fromArray(new Float32Array(size).fill(1), [size]);
    const counter = engine.randomCounter;
    const dropped = dropout(ones, p, true);
    engine.randomCounter = counter;
    const bits = randomBits(engine, size);
    const [values, words] = await engine.read([dropped, bits]);
    const threshold = Math.round(p * 2 ** 32);
    words.forEach((word, i) => assert.is(values[i] !== 0, word >= threshold, `size ${size}, element ${i}`));
    for (const t of [ones, dropped, bits]) t.dispose();
  }
});

test('dropout in eval or with p = 0 is the identity, p = 1 drops everything', async () => {
  const engine = await testEngine();
  const x = engine.fromArray([1, -2, 3, 4, 5], [5]);
  const [evaluated, zeroP, allDropped] = [dropout(x, 0.5, false), dropout(x, 0, true), dropout(x, 1, true)];
  const [e, z, d] = await engine.read([evaluated, zeroP, allDropped]);
  assert.equal(Array.from(e), [1, -2, 3, 4, 5]);
  assert.equal(Array.from(z), [1, -2, 3, 4, 5]);
  assert.equal(Array.from(d), [0, 0, 0, 0, 0]);
  for (const t of [evaluated, zeroP, allDropped, x]) t.dispose();
});

for (const [p, shape] of [[0.3, [4, 25]], [0.5, [2, 3, 5, 7]], [0.2, [3, 70001]]] as const) {
  test(`dropout backward uses the forward mask, p = ${p}, ${shape.join('x')}`, async () => {
    const engine = await testEngine();
    // Rewinding the counter replays the key, so the mask read here is the one checkOp's run draws.
    const counter = engine.randomCounter;
    const size = shape.reduce((a: number, b: number) => a * b, 1);
    const probe = engine.fromArray(new Float32Array(size).fill(1), [...shape]);
    const probed = noGrad(engine, () => dropout(probe, p, true));
    const [probeValues] = await engine.read([probed]);
    const mask = Uint8Array.from(probeValues, (v) => (v !== 0 ? 1 : 0));
    probe.dispose();
    probed.dispose();
    engine.randomCounter = counter;
    await checkOp(engine, {
      name: `dropout p=${p}`,
      inputs: [{ shape: [...shape] }],
      gpu: (_, [x]) => dropout(x, p, true),
      reference: ([x]) => ref.dropoutForward(x, mask, p),
      referenceBackward: (_, g) => [ref.dropoutBackward(g, mask, p)],
    });
  });
}

test('dropout and random ops free every temporary', async () => {
  const engine = await testEngine();
  const x = engine.fromArray(new Float32Array(4096).fill(1), [64, 64]);
  x.requiresGrad = true;
  const before = engine.memory().liveBytes;
  engine.tidy(() => {
    backward(sum(dropout(dropout(x, 0.3, true), 0, true)));
    randomNormal(engine, [100]);
    randomUniform(engine, [100]);
  });
  x.grad!.dispose();
  x.grad = null;
  assert.is(engine.memory().liveBytes, before);
  x.dispose();
});

test.run();
