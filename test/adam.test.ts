// The fused Adam step against PyTorch trajectories and the float64 reference on a multi-tensor
// group (padding must stay zero), checkpoint state round trips, and memory ownership.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testEngine } from './helpers/engine.ts';
import { assertClose } from './helpers/finite-diff.ts';
import * as ref from './helpers/reference.ts';
import { mulberry32, randn } from './helpers/random.ts';
import { loadOpsVectors, tensorValues } from './helpers/torch-vectors.ts';
import { Adam } from '../engine/optim/adam.ts';
import { ParameterGroup } from '../engine/parameters.ts';
import type { Engine } from '../engine/runtime.ts';

test('Adam follows the PyTorch trajectories', async () => {
  const engine = await testEngine();
  for (const [name, vector] of Object.entries(loadOpsVectors().cases)) {
    if (vector.op !== 'adam') continue;
    const param = tensorValues(vector.inputs['param']!);
    const grads = tensorValues(vector.inputs['grads']!);
    const steps = vector.config['steps'] as number;
    const group = new ParameterGroup(engine, [{ name: 'p', shape: [param.length] }], name);
    group.set('p', Float32Array.from(param));
    const optimizer = new Adam(group, {
      lr: vector.config['lr'] as number, betas: vector.config['betas'] as [number, number],
      eps: vector.config['eps'] as number, weightDecay: vector.config['weight_decay'] as number,
    });
    const expected = tensorValues(vector.outputs['params']!);
    for (let step = 0; step < steps; step++) {
      engine.upload(group.get('p').grad!, Float32Array.from(grads.subarray(step * param.length, (step + 1) * param.length)));
      optimizer.step();
      const [values] = await engine.read([group.get('p')]);
      assertClose(values, expected.subarray(step * param.length, (step + 1) * param.length), { atol: 1e-6, rtol: 1e-6 }, `${name} step ${step + 1}`);
    }
    const { expAvg, expAvgSq } = optimizer.stateTensors();
    const [m, v] = await engine.read([expAvg, expAvgSq]);
    assertClose(m.subarray(0, param.length), tensorValues(vector.outputs['exp_avg']!), { atol: 1e-7, rtol: 1e-6 }, `${name} exp_avg`);
    assertClose(v.subarray(0, param.length), tensorValues(vector.outputs['exp_avg_sq']!), { atol: 1e-9, rtol: 1e-5 }, `${name} exp_avg_sq`);
    assert.is(optimizer.stepCount, steps);
    optimizer.dispose();
    group.dispose();
  }
});

const specs = [{ name: 'a', shape: [5] }, { name: 'b', shape: [3, 7] }, { name: 'c', shape: [1] }, { name: 'd', shape: [2, 65] }];

/** A group with random values and the float64 mirror of each parameter. */
function makeGroup(engine: Engine, seed: number): { group: ParameterGroup; host: Map<string, Float64Array> } {
  const rng = mulberry32(seed);
  const group = new ParameterGroup(engine, specs, `adam-test-${seed}`);
  const host = new Map<string, Float64Array>();
  for (const spec of specs) {
    const values = Float64Array.from(Float32Array.from(randn(group.get(spec.name).size, rng)));
    group.set(spec.name, Float32Array.from(values));
    host.set(spec.name, values);
  }
  return { group, host };
}

function uploadGradients(group: ParameterGroup, step: number): Map<string, Float64Array> {
  const rng = mulberry32(100 + step);
  const grads = new Map<string, Float64Array>();
  for (const spec of specs) {
    const grad = Float64Array.from(Float32Array.from(randn(group.get(spec.name).size, rng).map((g) => g * 10 ** (step % 3 - 1))));
    group.engine.upload(group.get(spec.name).grad!, Float32Array.from(grad));
    grads.set(spec.name, grad);
  }
  return grads;
}

test('Adam updates every tensor of a group like the reference; padding stays zero', async () => {
  const engine = await testEngine();
  const { group, host } = makeGroup(engine, 1);
  const options = { lr: 2e-3, beta1: 0.5, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const optimizer = new Adam(group, { lr: options.lr, betas: [options.beta1, options.beta2], eps: options.eps, weightDecay: options.weightDecay });
  const states = new Map(specs.map((spec) => [spec.name, ref.adamInitialState(host.get(spec.name)!.length)]));
  for (let step = 0; step < 6; step++) {
    const grads = uploadGradients(group, step);
    optimizer.step();
    for (const spec of specs) {
      const result = ref.adamStep(host.get(spec.name)!, grads.get(spec.name)!, states.get(spec.name)!, options);
      host.set(spec.name, result.param);
      states.set(spec.name, result.state);
    }
  }
  const [flat] = await engine.read([group.values]);
  const used = new Uint8Array(flat.length);
  for (const spec of specs) {
    const offset = group.offsets.get(spec.name)!;
    const expected = host.get(spec.name)!;
    assertClose(flat.subarray(offset, offset + expected.length), expected, { atol: 1e-6, rtol: 1e-6 }, `parameter ${spec.name}`);
    used.fill(1, offset, offset + expected.length);
  }
  assert.ok(flat.every((value, i) => used[i] === 1 || value === 0), 'padding stays zero');
  optimizer.dispose();
  group.dispose();
});

test('Adam state round trips through loadState', async () => {
  const engine = await testEngine();
  const first = makeGroup(engine, 2).group;
  const second = makeGroup(engine, 2).group;
  const options = { lr: 1e-2, betas: [0.9, 0.99] as const };
  const original = new Adam(first, options);
  for (let step = 0; step < 3; step++) {
    uploadGradients(first, step);
    original.step();
  }
  const { expAvg, expAvgSq } = original.stateTensors();
  const [m, v, values] = await engine.read([expAvg, expAvgSq, first.values]);
  engine.upload(second.values, values as Float32Array);
  const restored = new Adam(second, options);
  restored.loadState(m as Float32Array, v as Float32Array, original.stepCount);
  for (const [group, optimizer] of [[first, original], [second, restored]] as const) {
    uploadGradients(group, 3);
    optimizer.step();
  }
  const [a, b] = await engine.read([first.values, second.values]);
  assert.equal(Array.from(a), Array.from(b));
  assert.throws(() => restored.loadState(new Float32Array(3), new Float32Array(3), 1), /state has 3/);
  for (const disposable of [original, restored, first, second]) disposable.dispose();
});

test('Adam allocates only its two moment buffers, once', async () => {
  const engine = await testEngine();
  const { group } = makeGroup(engine, 3);
  const before = engine.memory().liveBytes;
  const optimizer = new Adam(group, { lr: 1e-3 });
  const withState = engine.memory().liveBytes;
  assert.ok(withState - before >= 2 * group.values.byteLength, 'two moment buffers');
  const dispatches = engine.dispatchCount;
  for (let step = 0; step < 3; step++) optimizer.step();
  assert.is(engine.dispatchCount - dispatches, 3, 'one dispatch per step');
  assert.is(engine.memory().liveBytes, withState, 'steps allocate nothing');
  optimizer.dispose();
  assert.is(engine.memory().liveBytes, before, 'dispose frees the moments');
  group.dispose();
});

test.run();
