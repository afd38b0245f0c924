// ParameterGroup.frozen: a model's parameters taken as constants (a GAN's generator update through the
// discriminator): gradients still reach the input, the parameters' own stay untouched, and the group
// trains again afterwards, also when the frozen function throws.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testEngine } from './helpers/engine.ts';
import { ParameterGroup } from '../engine/parameters.ts';
import { backward } from '../engine/ops/backward.ts';
import { conv2d } from '../engine/ops/conv.ts';
import { mean } from '../engine/ops/reduce.ts';
import type { Engine } from '../engine/runtime.ts';

const values = (count: number, seed: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.7 + seed));

/** mean(conv2d(x, w, b)) backward; returns x's gradient and the group's gradient buffer. */
async function gradients(engine: Engine, group: ParameterGroup, freeze: boolean): Promise<[Float32Array, Float32Array]> {
  group.zeroGrad();
  const x = engine.keep(engine.fromArray(values(2 * 3 * 6 * 6, 1), [2, 3, 6, 6]));
  x.requiresGrad = true;
  const run = () => engine.tidy(() => {
    backward(mean(conv2d(x, group.get('w'), group.get('b'), { stride: 1, padding: 1 })));
  });
  if (freeze) group.frozen(run);
  else run();
  const [dx, grads] = await engine.read([x.grad!, group.grads]);
  x.grad!.dispose();
  x.dispose();
  return [dx as Float32Array, grads as Float32Array];
}

test('frozen parameters pass gradients to the input and get none themselves', async () => {
  const engine = await testEngine();
  const group = new ParameterGroup(engine, [{ name: 'w', shape: [4, 3, 3, 3] }, { name: 'b', shape: [4] }], 'frozen-test');
  group.set('w', values(4 * 3 * 3 * 3, 2));
  group.set('b', values(4, 3));
  const [dxTrained, gradsTrained] = await gradients(engine, group, false);
  const [dxFrozen, gradsFrozen] = await gradients(engine, group, true);
  assert.equal(Array.from(dxFrozen), Array.from(dxTrained), 'the input gradient does not depend on freezing');
  assert.ok(gradsTrained.some((v) => v !== 0), 'unfrozen: the parameters get gradients');
  assert.ok(gradsFrozen.every((v) => v === 0), 'frozen: the parameters get none');
  for (const tensor of group.tensors.values()) assert.ok(tensor.requiresGrad, `${tensor.name} trains again after frozen()`);

  assert.throws(() => group.frozen(() => { throw new Error('inside'); }), /inside/);
  for (const tensor of group.tensors.values()) assert.ok(tensor.requiresGrad, `${tensor.name} trains again after a throw`);
  const [, gradsAfter] = await gradients(engine, group, false);
  assert.equal(Array.from(gradsAfter), Array.from(gradsTrained), 'gradients as before once unfrozen');
  group.dispose();
});

test.run();
