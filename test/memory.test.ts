// The buffer pool under training-like churn: no leaks, reuse after warm-up, a clear over-budget
// error, and a dry run that reports the same peak as the real run of the same sequence.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../engine/runtime.ts';
import { BufferPool, sizeClass, parseBytes } from '../engine/memory.ts';
import { OverBudgetError } from '../engine/errors.ts';
import { leakyRelu, add, scale } from '../engine/ops/elementwise.ts';
import { sum } from '../engine/ops/reduce.ts';
import { backward } from '../engine/ops/backward.ts';
import { ParameterGroup } from '../engine/parameters.ts';
import { testEngine } from './helpers/engine.ts';
import { createTrainer } from '../pipeline/train/setup.ts';
import { syntheticTrainOptions } from '../pipeline/commands/profile.ts';

/** One training-like step: an input upload, a forward with intermediates, backward, a readback-free update. */
function step(engine: Engine, group: ParameterGroup, batch: number): void {
  engine.tidy(() => {
    const input = engine.empty([batch, 3, 17, 9], 'f32', 'input');
    const weight = group.get('w');
    const hidden = leakyRelu(add(input, scale(input, 0.5)));
    const loss = sum(add(hidden, weight));
    backward(loss);
  });
}

test('200 allocate/compute/dispose iterations: live bytes flat, >= 99% served from the pool', async () => {
  const engine = await testEngine();
  const group = new ParameterGroup(engine, [{ name: 'w', shape: [4, 3, 17, 9] }], 'leaktest');
  for (let i = 0; i < 5; i++) step(engine, group, 4);
  await engine.sync();
  const warm = engine.memory();
  for (let i = 0; i < 200; i++) step(engine, group, 4);
  await engine.sync();
  const after = engine.memory();
  assert.is(after.liveBytes, warm.liveBytes, 'live bytes after 200 steps equal those after warm-up');
  const created = after.created - warm.created;
  const reused = after.reused - warm.reused;
  assert.ok(reused / (created + reused) >= 0.99, `served from pool: ${reused} of ${created + reused}`);
  group.dispose();
});

test('an over-budget allocation fails before creating anything, naming size, live bytes and holders', async () => {
  const engine = await Engine.create({ maxBytes: 1 << 20 });
  const big = engine.empty([100_000], 'f32', 'activations.big');
  const before = engine.memory();
  try {
    engine.empty([200_000], 'f32', 'activations.too-big');
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, OverBudgetError);
    const message = (error as Error).message;
    assert.match(message, /activations\.too-big needs 832\.0 KiB/);
    assert.match(message, /416\.0 KiB live of 1\.00 MiB/);
    assert.match(message, /top holders: activations\.big/);
    assert.not.match(message, /\n/);
  }
  assert.is(engine.memory().created, before.created, 'nothing was created');
  big.dispose();
  // Freed buffers held by the pool are given back to make room before the budget is declared broken.
  const reused = engine.empty([200_000], 'f32', 'fits-after-eviction');
  reused.dispose();
  engine.destroy();
});

test('dry run reports the same peak as the real run of the same steps', async () => {
  const peaks: number[] = [];
  for (const dryRun of [false, true]) {
    const engine = await Engine.create({ dryRun });
    const group = new ParameterGroup(engine, [{ name: 'w', shape: [8, 3, 17, 9] }], 'dry');
    for (let i = 0; i < 3; i++) step(engine, group, 8);
    await engine.sync();
    peaks.push(engine.memory().peakHeldBytes);
    engine.destroy();
  }
  assert.ok(peaks[0] > 0);
  assert.is(peaks[1], peaks[0]);
});

test('size classes waste at most 12.5% and byte sizes parse', () => {
  for (const bytes of [1, 255, 257, 4097, 1e6, 3 * 2 ** 30 + 1]) {
    const size = sizeClass(bytes);
    assert.ok(size >= bytes && (bytes < 4096 || size <= bytes * 1.125), `${bytes} -> ${size}`);
  }
  assert.is(parseBytes('4GiB'), 4 * 2 ** 30);
  assert.is(parseBytes('512M'), 512 * 2 ** 20);
  assert.throws(() => parseBytes('lots'), /not a byte size/);
});

test('the pool hands out its free buffers lowest id first, whatever order they were freed in', () => {
  const handOut = (releaseOrder: number[]): number[] => {
    const pool = new BufferPool(null);
    const buffers = [0, 1, 2, 3, 4].map(() => pool.acquire(1024, 'b'));
    for (const i of releaseOrder) pool.release(buffers[i]);
    return buffers.map(() => pool.acquire(1024, 'again').id);
  };
  assert.equal(handOut([0, 1, 2, 3, 4]), [1, 2, 3, 4, 5]);
  assert.equal(handOut([3, 0, 4, 2, 1]), [1, 2, 3, 4, 5]);
});

test('a repeated step reuses its bind groups: it gets the same buffers, whatever order it frees them in', async () => {
  const engine = await testEngine();
  const x = engine.fromArray(Float32Array.of(1, 2, 3, 4), [4], 'f32', 'x');
  // Temporaries freed by the tidy, one output freed after it, one freed mid-step: unsettled, the
  // free list comes back permuted and each step binds different buffers.
  const step = async (): Promise<number> => {
    const out = engine.tidy(() => {
      let y = scale(x, 2);
      const early = scale(y, 0.5);
      for (let i = 0; i < 5; i++) y = add(y, x);
      early.dispose();
      return scale(y, 3);
    });
    const [values] = await engine.read([out]);
    out.dispose();
    return values[0];
  };
  for (let i = 0; i < 3; i++) assert.is(await step(), 21);
  const cached = engine.cachedBindGroups;
  for (let i = 0; i < 6; i++) assert.is(await step(), 21);
  assert.is(engine.cachedBindGroups, cached, 'no new bind groups once the step repeats');
  x.dispose();
});

test('a training step, repeated, makes no new bind groups (its metrics are freed after its scopes end)', async () => {
  const engine = await testEngine();
  const trainer = createTrainer(engine, syntheticTrainOptions('cgan', 'tiny', 4, 5, false), null, 10);
  const batch = trainer.syntheticBatch(4);
  for (let step = 0; step < 3; step++) await trainer.step(batch, step);
  const cached = engine.cachedBindGroups;
  for (let step = 3; step < 6; step++) await trainer.step(batch, step);
  assert.is(engine.cachedBindGroups, cached);
  trainer.dispose();
});

test('over budget, the pool evicts the smallest free buffer that covers the excess, else the largest, and nothing more', () => {
  const destroyed: number[][] = [];
  const pool = new BufferPool(null, { maxBytes: 64 * 1024, beforeDestroy: (entries) => destroyed.push(entries.map((entry) => entry.size)) });
  const sizes = [4096, 8192, 8192, 16384, 20480];
  const buffers = sizes.map((size) => pool.acquire(size, 'b'));
  buffers.forEach((buffer) => pool.release(buffer));
  // 56 KiB pooled: 12 KiB more needs 4 KiB freed, which the 4 KiB buffer covers exactly.
  pool.acquire(12 * 1024, 'a');
  assert.equal(destroyed, [[4096]]);
  // 52 KiB pooled + 12 live: 40 KiB more needs 40 freed: no one buffer covers it, so the largest
  // go first (20, then 16), and the 4 KiB still missing is covered by the smallest that can (8).
  pool.acquire(40 * 1024, 'b');
  assert.equal(destroyed[1], [20480, 16384, 8192]);
  const stats = pool.stats();
  assert.is(stats.evictedBytes, 4096 + 20480 + 16384 + 8192);
  assert.is(stats.heldBytes, 60 * 1024);
  assert.is(stats.pooledBytes, 8192);
  // What only the live bytes could make room for is refused, with nothing destroyed.
  assert.throws(() => pool.acquire(16 * 1024, 'c'), (error: unknown) => error instanceof OverBudgetError);
  assert.is(destroyed.length, 2);
  assert.is(pool.stats().pooledBytes, 8192);
});

test('double release is an error', () => {
  const pool = new BufferPool(null);
  const entry = pool.acquire(100, 'x');
  pool.release(entry);
  assert.throws(() => pool.release(entry), /released twice/);
});

test('use after dispose is an error naming the tensor', async () => {
  const engine = await testEngine();
  const tensor = engine.empty([3], 'f32', 'gone');
  tensor.dispose();
  await engine.read([]).catch(() => {});
  assert.throws(() => tensor.pooled, /gone \[3\] used after dispose/);
});

test.run();
