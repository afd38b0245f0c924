// Leaf gradients added several to a dispatch (engine/ops/gradient-adds.ts): the same sums, bit for bit,
// as one add_inplace each, in fewer dispatches; a target given twice gets both adds in order; a large
// gradient, or one for another buffer, goes on its own; nothing is left live.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testEngine } from './helpers/engine.ts';
import { ParameterGroup } from '../engine/parameters.ts';
import { LeafGradientAdds } from '../engine/ops/gradient-adds.ts';
import { addInPlace } from '../engine/ops/elementwise.ts';
import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';

const values = (count: number, seed: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.37 + seed) * 10 ** (i % 5 - 2));

// Sizes around the kernel's 256 threads and its 7 pairs a dispatch, one past the deferred-size limit (256 KiB).
const specs = [[3], [64, 3, 3, 3], [257], [1], [5, 7], [4096], [300], [2, 2], [9], [65537]].map((shape, i) => ({ name: `p${i}`, shape }));

/** Each parameter's gradient preset to `seed`-dependent values, and one addition per entry of `order`. */
async function accumulate(engine: Engine, order: number[], batched: boolean): Promise<Float32Array> {
  const group = new ParameterGroup(engine, specs);
  try {
    for (const spec of specs) engine.upload(group.get(spec.name).grad!, values(group.get(spec.name).size, 1));
    const adds = new LeafGradientAdds();
    order.forEach((index, k) => {
      const target = group.get(specs[index].name).grad!;
      const addition = engine.fromArray(values(target.size, 2 + k), target.shape);
      if (batched) adds.add(target, addition);
      else {
        addInPlace(target, addition);
        addition.dispose();
      }
    });
    adds.flush();
    return (await engine.read([group.grads]))[0] as Float32Array;
  } finally {
    group.dispose();
  }
}

test('leaf gradients added several to a dispatch equal one add_inplace each, bit for bit, in fewer dispatches', async () => {
  const engine = await testEngine();
  const live = engine.memory().liveBytes;
  // Every parameter once, then p1 and p4 again (their second adds wait for the first to land).
  const order = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 4];
  const separate = await accumulate(engine, order, false);
  const before = engine.dispatchCount;
  const batched = await accumulate(engine, order, true);
  const batchedDispatches = engine.dispatchCount - before;
  assert.equal([...batched], [...separate]);
  // Uploads and reads are not dispatches; the separate run made 12 adds (+ the groups' fills).
  const fills = 2;
  assert.ok(batchedDispatches - fills <= 4, `${batchedDispatches - fills} add dispatches for 12 gradients`);
  assert.is(engine.memory().liveBytes, live, 'nothing left live');
});

test('a target already pending is added in order; a gradient for another buffer flushes the pending ones', async () => {
  const engine = await testEngine();
  const group = new ParameterGroup(engine, [{ name: 'a', shape: [10] }, { name: 'b', shape: [10] }]);
  const other = engine.fromArray(new Float32Array(10), [10]);
  const adds = new LeafGradientAdds();
  const ones = (): Tensor => engine.fromArray(new Float32Array(10).fill(1), [10]);
  const before = engine.dispatchCount;
  adds.add(group.get('a').grad!, ones());
  adds.add(group.get('a').grad!, ones());
  adds.add(group.get('b').grad!, ones());
  adds.add(other, ones());
  adds.add(group.get('b').grad!, ones());
  adds.flush();
  // a | a b | other | b: the second a may not share the first's dispatch (two threads would add to one element).
  assert.is(engine.dispatchCount - before, 4);
  const [a, b, o] = await engine.read([group.get('a').grad!, group.get('b').grad!, other]);
  assert.equal([...a], new Array(10).fill(2));
  assert.equal([...b], new Array(10).fill(2));
  assert.equal([...o], new Array(10).fill(1));
  assert.throws(() => adds.add(group.get('a').grad!, engine.fromArray([1, 2], [2])), /a gradient of \[2\] for \[10\]/);
  other.dispose();
  group.dispose();
});

test.run();
