// Device failures become errors users can read, never hangs: a lost device, a GPU validation error.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../engine/runtime.ts';
import { DeviceError, KernelBindingError } from '../engine/errors.ts';
import { kernel } from '../engine/kernel.ts';
import { registerShaderSources } from '../engine/shader-source.ts';
import { add } from '../engine/ops/elementwise.ts';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('submitEvery submits while recording, sooner after a wait; software adapters default to one submit per step', async () => {
  const engine = await Engine.create({ submitEvery: 4 });
  try {
    const x = engine.fromArray(Float32Array.of(1, 2), [2]);
    await engine.read([x]);
    const before = engine.submitCount;
    let y = x;
    for (let i = 0; i < 12; i++) y = add(y, x);
    // The read drained the queue, so the first submits come sooner: 1, then 2, then 4 (= submitEvery) dispatches.
    assert.is(engine.submitCount - before, 4, 'after dispatches 1, 3, 7 and 11');
    assert.equal([...(await engine.read([y]))[0]], [13, 26]);
  } finally {
    engine.destroy();
  }
  const plain = await Engine.create();
  assert.is(plain.submitEvery, plain.adapterKind === 'cpu' ? 0 : 64);
  plain.destroy();
});

test('on a software adapter in Node the JavaScript thread yields the cores to the shader threads', () => {
  // A fresh process each, since the priority of this one was lowered by the first engine it made.
  const runtime = fileURLToPath(new URL('../engine/runtime.ts', import.meta.url));
  const probe = (options: string) => JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
    import { getPriority } from 'node:os';
    import { Engine } from ${JSON.stringify(runtime)};
    const before = getPriority();
    const engine = await Engine.create(${options});
    console.log(JSON.stringify({ before, after: getPriority(), kind: engine.adapterKind }));
    engine.destroy();
    process.exit(0);
  `], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop()!) as { before: number; after: number; kind: string };
  const lowered = probe('{}');
  const kept = probe('{ keepThreadPriority: true }');
  assert.is(kept.after, kept.before);
  if (lowered.kind === 'cpu' && process.platform === 'linux') assert.is(lowered.after, 19);
  else assert.is(lowered.after, lowered.before);
});

test('reading after the device is lost rejects with a DeviceError', async () => {
  const engine = await Engine.create();
  const tensor = engine.fromArray([1, 2, 3], [3]);
  engine.device.destroy();
  await engine.gpu!.lost;
  try {
    await engine.read([tensor]);
    assert.unreachable('read should fail');
  } catch (error) {
    assert.instance(error, DeviceError);
    assert.match((error as Error).message, /GPU device lost/);
  }
});

test('a GPU validation error surfaces at the next flush as one line', async () => {
  // One submit per step, so the add below is still unsubmitted when its input goes (on a GPU the first
  // dispatch after creation is submitted at once, and destroying a buffer after its submit is legal).
  const engine = await Engine.create({ submitEvery: 0 });
  // A buffer destroyed behind the engine's back: only the device can notice, at submit.
  const a = engine.fromArray([1, 2], [2]);
  const b = engine.fromArray([3, 4], [2]);
  const sum = add(a, b);
  a.pooled.buffer!.destroy();
  try {
    await engine.read([sum]);
    assert.unreachable('read should fail');
  } catch (error) {
    assert.instance(error, DeviceError);
    assert.not.match((error as Error).message, /\n/);
  }
  engine.destroy();
});

test('kernel bindings are checked by name and dtype before dispatch', async () => {
  const engine = await Engine.create();
  const x = engine.fromArray([1, 2], [2]);
  const affine = kernel('elementwise', 'affine');
  assert.throws(() => engine.run(affine, { buffers: { a: x }, params: { count: 2, alpha: 1, beta: 0 }, workgroups: [1] }), (e: Error) => e instanceof KernelBindingError && /missing buffer "out"/.test(e.message));
  const ints = engine.fromArray([1, 2], [2], 'i32');
  assert.throws(() => engine.run(affine, { buffers: { a: ints, out: x }, params: { count: 2, alpha: 1, beta: 0 }, workgroups: [1] }), /wants f32, got i32/);
  assert.throws(() => engine.run(affine, { buffers: { a: x, out: x, extra: x }, params: { count: 2, alpha: 1, beta: 0 }, workgroups: [1] }), /unknown buffer\(s\) extra/);
  assert.throws(() => engine.run(affine, { buffers: { a: x, out: engine.empty([2]) }, params: { count: 2, alpha: 1 }, workgroups: [1] }), /missing param "beta"/);
  assert.throws(() => engine.run(affine, { buffers: { a: x, out: x }, params: { count: 2, alpha: 1, beta: 0, gamma: 1 }, workgroups: [1] }), /unknown param\(s\) gamma/);
  engine.destroy();
});

test('each set of override values is its own pipeline, and a name the kernel does not declare is refused, compiled or not', async () => {
  registerShaderSources({
    test_override_scale: `override SCALE: f32 = 1.0;
@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(1) fn main() { a[0] = a[0] * SCALE; }`,
  });
  const engine = await Engine.create();
  try {
    const scale = kernel('test_override_scale');
    const x = engine.fromArray([1], [1]);
    const sets: Array<Record<string, number> | undefined> = [{ SCALE: 2 }, { SCALE: 3 }, {}, { SCALE: 2 }, undefined];
    for (const overrides of sets) engine.run(scale, { buffers: { a: x }, overrides, workgroups: [1] });
    assert.equal([...(await engine.read([x]))[0]!], [12]);
    assert.throws(() => engine.run(scale, { buffers: { a: x }, overrides: { SCALE: 2, OTHER: 1 }, workgroups: [1] }), (e: Error) => e instanceof KernelBindingError && /unknown override "OTHER"/.test(e.message));
    assert.throws(() => engine.run(scale, { buffers: { a: x }, overrides: { OTHER: 1 }, workgroups: [1] }), /unknown override "OTHER"/);
  } finally {
    engine.destroy();
  }
});

test.run();
