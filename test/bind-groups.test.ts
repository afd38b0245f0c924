// Bind groups are made once per (compiled kernel, tensors) and reused: a step that repeats its
// dispatches over the same pooled buffers makes no new ones, the params of each dispatch still
// reach its kernel (dynamic offsets), and a pool trim drops the cache without breaking later work.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addInPlace, scale } from '../engine/ops/elementwise.ts';
import { testEngine } from './helpers/engine.ts';

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

test('a pool trim drops the cached bind groups; later dispatches make new ones and compute right', async () => {
  const engine = await testEngine();
  const x = engine.fromArray(Float32Array.of(1, -1), [2], 'f32', 'x');
  scale(x, 2).dispose();
  assert.ok(engine.cachedBindGroups > 0);
  engine.pool.trim();
  assert.is(engine.cachedBindGroups, 0);
  const y = scale(x, -3);
  assert.equal([...(await engine.read([y]))[0]], [-3, 3]);
  [x, y].forEach((t) => t.dispose());
});

test.run();
