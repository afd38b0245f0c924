// Bind groups are made once per (compiled kernel, tensors) and reused: a step that repeats its
// dispatches over the same pooled buffers makes no new ones, the params of each dispatch still
// reach its kernel (dynamic offsets), and a pool trim or eviction drops the groups naming the
// destroyed buffers without breaking work recorded before it or after.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addInPlace, scale } from '../engine/ops/elementwise.ts';
import { createEngine, testEngine } from './helpers/engine.ts';

test('repeated dispatches reuse one bind group, and each still gets its own params', async () => {
  const engine = await testEngine();
  const x = engine.fromArray(Float32Array.of(1, 2, 3, 4), [4], 'f32', 'x');
  const before = engine.cachedBindGroups;
  const outputs = [2, 3, 5].map((alpha) => scale(x, alpha));
  // Each scale writes a fresh output buffer, so each makes its own bind group.
  const made = engine.cachedBindGroups - before;
  const values = await engine.read(outputs);
  assert.equal([...values[0]], [2, 4, 6, 8]);
  assert.equal([...values[1]], [3, 6, 9, 12]);
  assert.equal([...values[2]], [5, 10, 15, 20]);
  assert.is(made, 3);

  const target = engine.fromArray(new Float32Array(4), [4], 'f32', 'target');
  addInPlace(target, x);
  const afterFirst = engine.cachedBindGroups;
  for (let i = 0; i < 9; i++) addInPlace(target, x);
  assert.is(engine.cachedBindGroups, afterFirst, 'ten identical dispatches, one bind group');
  assert.equal([...(await engine.read([target]))[0]], [10, 20, 30, 40]);
  [x, target, ...outputs].forEach((t) => t.dispose());
});

test('a pool trim drops the cached bind groups naming the pooled buffers; later dispatches make new ones and compute right', async () => {
  const engine = await createEngine();
  const x = engine.fromArray(Float32Array.of(1, -1), [2], 'f32', 'x');
  const target = engine.fromArray(Float32Array.of(0, 0), [2], 'f32', 'target');
  addInPlace(target, x);
  scale(x, 2).dispose();
  assert.is(engine.cachedBindGroups, 2);
  engine.pool.trim();
  // scale's output buffer went; addInPlace names only live tensors and keeps its group.
  assert.is(engine.cachedBindGroups, 1);
  const y = scale(x, -3);
  assert.equal([...(await engine.read([y]))[0]], [-3, 3]);
  assert.equal([...(await engine.read([target]))[0]], [1, -1]);
  [x, y, target].forEach((t) => t.dispose());
  engine.destroy();
});

test('an eviction submits the work recorded over the evicted buffer and drops only the bind groups naming it', async () => {
  const engine = await createEngine({ maxBytes: 12 * 1024 + 256 });
  const x = engine.fromArray(Float32Array.from({ length: 1024 }, (_, i) => i), [1024], 'f32', 'x');
  const small = engine.fromArray(Float32Array.of(2, 4), [2], 'f32', 'small');
  // A 4 KiB temporary, recorded and freed, still unsubmitted: pooled, and the only thing to evict.
  const temporary = scale(x, 3);
  const tripled = scale(temporary, 1);
  temporary.dispose();
  const before = engine.cachedBindGroups;
  // 8.25 KiB live and 4 pooled: 256 bytes more (another size class) evicts the temporary's buffer.
  const halved = scale(small, 0.5);
  assert.is(engine.memory().evictedBytes, 4096);
  // The groups of scale(x, 3) and scale(temporary, 1) named it and went; the new one came.
  assert.is(engine.cachedBindGroups, before - 2 + 1);
  const [triples, halves] = await engine.read([tripled, halved]);
  assert.is(triples[1023], 3 * 1023);
  assert.equal([...halves], [1, 2]);
  [x, small, tripled, halved].forEach((t) => t.dispose());
  engine.destroy();
});

test.run();
