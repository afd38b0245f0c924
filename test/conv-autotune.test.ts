// The per-shape conv variant choice: shapes met while tuning is on are timed once and recorded; the
// recorded table round-trips through JSON and is used as-is (no new timing) by a later engine; with
// tuning off every shape gets the fixed default; tuned convolutions still match the reference.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../engine/runtime.ts';
import { conv2d } from '../engine/ops/conv.ts';
import { backward } from '../engine/ops/backward.ts';
import { sum } from '../engine/ops/reduce.ts';
import { gatherCandidates, weightGradCandidates, weightGradRowSplit } from '../engine/ops/conv-kernels.ts';
import {
  candidatesTag, enableConvAutotune, exportConvTuning, gatherVariant, gpuWarmedUp, kernelClock, pendingConvShapes, tuneConvolutions,
} from '../engine/ops/conv-autotune.ts';
import { Profiler } from '../engine/profile/profiler.ts';
import * as ref from './helpers/reference.ts';
import { assertClose } from './helpers/finite-diff.ts';
import { mulberry32, randn } from './helpers/random.ts';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finishAutotune, startAutotune } from '../pipeline/conv-tuning-file.ts';

const xShape = [2, 24, 12, 12] as const;
const weightShape = [20, 24, 3, 3] as const;
const options = { stride: 1, padding: 1 };

/** Forward and backward of one conv2d; returns the output values. */
async function convStep(engine: Engine, x: Float64Array, weight: Float64Array): Promise<Float32Array> {
  const [output] = await engine.read([engine.tidy(() => {
    const xt = engine.fromArray(Float32Array.from(x), [...xShape], 'f32', 'x');
    const wt = engine.fromArray(Float32Array.from(weight), [...weightShape], 'f32', 'w');
    xt.requiresGrad = true;
    wt.requiresGrad = true;
    const y = conv2d(xt, wt, null, options);
    backward(sum(y));
    xt.grad?.dispose();
    wt.grad?.dispose();
    return engine.keep(y);
  })]);
  return output as Float32Array;
}

test('autotuning times each new shape once, records the fastest candidate, and reuses the table', async () => {
  const x = randn(xShape.reduce((a, b) => a * b, 1), mulberry32(1));
  const weight = randn(weightShape.reduce((a, b) => a * b, 1), mulberry32(2));
  const expected = ref.conv2dForward(x, [...xShape], weight, [...weightShape], null, options).output;

  const engine = await Engine.create();
  try {
    enableConvAutotune(engine);
    await convStep(engine, x, weight);
    // The forward and grad-input gathers and the weight gradient, each where there is a choice.
    const shapes = pendingConvShapes(engine);
    assert.ok(shapes >= 1 && shapes <= 3, `pending shapes: ${shapes}`);
    const lines: string[] = [];
    assert.is(await tuneConvolutions(engine, (line) => lines.push(line)), shapes);
    assert.is(pendingConvShapes(engine), 0);
    // A software adapter is timed by CPU time: no GPU warm-up.
    assert.is(gpuWarmedUp(engine), engine.adapterKind === 'gpu');
    const table = exportConvTuning(engine);
    assert.is(Object.keys(table).length, shapes);
    // The forward is conv2d 24 -> 20 channels; its grad-input runs as convTranspose2d 20 -> 24.
    const k3 = { batch: 2, inHeight: 12, inWidth: 12, outHeight: 12, outWidth: 12, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1 };
    const candidates: Record<string, string[]> = {
      C: gatherCandidates(engine, { ...k3, inChannels: 24, outChannels: 20, transposed: false }),
      T: gatherCandidates(engine, { ...k3, inChannels: 20, outChannels: 24, transposed: true }),
      W: weightGradCandidates(engine, 20, { height: 3, width: 3, stride: 1, padding: 1, inChannels: 24, gradHeight: 12, gradWidth: 12, inHeight: 12, inWidth: 12 }),
    };
    for (const [key, variant] of Object.entries(table)) {
      const kind = key.startsWith('weightGrad') ? 'W' : key.includes(' T ') ? 'T' : 'C';
      assert.ok(candidates[kind].includes(variant), `${key}: ${variant} is not among ${candidates[kind].join(', ')}`);
    }
    assert.ok(lines.every((line) => / ms/.test(line)), lines.join('\n'));
    // Tuned kernels compute the same convolution, and meet no new shape.
    assertClose(await convStep(engine, x, weight), expected, { atol: 1e-3, rtol: 1e-4 }, 'tuned conv2d');
    assert.is(pendingConvShapes(engine), 0);

    // A later engine given the table times nothing.
    const later = await Engine.create();
    try {
      enableConvAutotune(later, JSON.parse(JSON.stringify(table)));
      await convStep(later, x, weight);
      assert.is(pendingConvShapes(later), 0);
      assert.equal(exportConvTuning(later), table);
    } finally {
      later.destroy();
    }
  } finally {
    engine.destroy();
  }
});

test('a GPU-sized engine times candidates by their kernels\' timestamps, unless the caller is profiling', async () => {
  const x = randn(xShape.reduce((a, b) => a * b, 1), mulberry32(3));
  const weight = randn(weightShape.reduce((a, b) => a * b, 1), mulberry32(4));
  const expected = ref.conv2dForward(x, [...xShape], weight, [...weightShape], null, options).output;
  const engine = await Engine.create({ adapterKind: 'gpu' });
  try {
    const clock = kernelClock(engine);
    assert.is(clock !== null, engine.features.has('timestamp-query'));
    clock?.detach();
    // A caller's profiler stays attached and keeps its own steps: the tuner uses the wall clock then.
    const caller = new Profiler(engine).attach();
    assert.is(kernelClock(engine), null);
    caller.detach();
    assert.is(engine.observer, null);

    enableConvAutotune(engine);
    await convStep(engine, x, weight);
    const shapes = pendingConvShapes(engine);
    assert.ok(shapes >= 1);
    const lines: string[] = [];
    assert.not.ok(gpuWarmedUp(engine));
    assert.is(await tuneConvolutions(engine, (line) => lines.push(line)), shapes);
    // Every candidate got a finite time, the GPU was warmed up first, and the tuner's profiler is gone.
    assert.ok(lines.every((line) => !/NaN|Infinity/.test(line)), lines.join('\n'));
    assert.ok(gpuWarmedUp(engine));
    assert.is(engine.observer, null);
    assertClose(await convStep(engine, x, weight), expected, { atol: 1e-3, rtol: 1e-4 }, 'tuned on timestamps');
  } finally {
    engine.destroy();
  }
});

test('without autotuning every shape gets its fixed default (the first candidate)', async () => {
  const engine = await Engine.create();
  try {
    const g = { batch: 1, inChannels: 8, inHeight: 6, inWidth: 6, outChannels: 32, outHeight: 3, outWidth: 3, kernelHeight: 4, kernelWidth: 4, stride: 2, padding: 1, transposed: false };
    assert.is(gatherVariant(engine, g), gatherCandidates(engine, g)[0]);
    assert.is(pendingConvShapes(engine), 0);
    // Subgroup kernels are offered exactly when the adapter guarantees 8-lane subgroups.
    assert.is(gatherCandidates(engine, g).some((v) => v.startsWith('subgroup')), engine.subgroupMinSize >= 8);
  } finally {
    engine.destroy();
  }
});

test('the default direct gather: subgroup32 where 32 channels fill it, subgroup16 for kernels wider than 4 columns', async () => {
  const engine = await Engine.create();
  try {
    const k9 = { batch: 1, inChannels: 1, inHeight: 24, inWidth: 24, outChannels: 64, outHeight: 24, outWidth: 24, kernelHeight: 9, kernelWidth: 9, stride: 1, padding: 4, transposed: false };
    const k4 = { ...k9, kernelHeight: 4, kernelWidth: 4, stride: 2, padding: 1, outHeight: 12, outWidth: 12 };
    const subgroupOrder = (g: typeof k9) => gatherCandidates(engine, g).filter((v) => v === 'subgroup32' || v === 'subgroup16');
    const expected = engine.subgroupMinSize >= 8 ? { k9: ['subgroup16', 'subgroup32'], k4: ['subgroup32', 'subgroup16'] } : { k9: [], k4: [] };
    assert.equal(subgroupOrder(k9), expected.k9);
    assert.equal(subgroupOrder(k4), expected.k4);
  } finally {
    engine.destroy();
  }
});

test('a table recorded for another candidate list is not used: the shape is timed again', async () => {
  const engine = await Engine.create();
  try {
    const g = { batch: 1, inChannels: 8, inHeight: 6, inWidth: 6, outChannels: 32, outHeight: 3, outWidth: 3, kernelHeight: 4, kernelWidth: 4, stride: 2, padding: 1, transposed: false };
    const candidates = gatherCandidates(engine, g);
    assert.ok(candidates.length > 1, candidates.join(', '));
    const last = candidates[candidates.length - 1];
    // The shape's key with the current list's tag: the recorded choice is used, nothing is pending.
    const shape = 'gather C n1 8x6x6 -> 32x3x3 k4x4 s2 p1';
    enableConvAutotune(engine, { [`${shape} ${candidatesTag(candidates)}`]: last });
    assert.is(gatherVariant(engine, g), last);
    assert.is(pendingConvShapes(engine), 0);
    // The same choice recorded for a shorter list (before a variant was added): the default runs and the shape is pending.
    enableConvAutotune(engine, { [`${shape} ${candidatesTag(candidates.slice(1))}`]: last, [shape]: last });
    assert.is(gatherVariant(engine, g), candidates[0]);
    assert.is(pendingConvShapes(engine), 1);
  } finally {
    engine.destroy();
  }
});

// Found on an NVIDIA H200 (32-lane subgroups): row groups of 16 lanes split a subgroup between two
// rows, and its broadcasts handed one row's gradient to the other's lanes (weight grads wrong).
test('the subgroup weight gradient splits its workgroup only into whole subgroups', () => {
  for (const subgroupMaxSize of [8, 16, 32, 64, 128]) {
    for (let threadsNeeded = 1; threadsNeeded <= 128; threadsNeeded++) {
      const split = weightGradRowSplit(threadsNeeded, subgroupMaxSize);
      assert.ok([1, 2, 4].includes(split), `split ${split}`);
      assert.ok(split === 1 || (64 / split) % subgroupMaxSize === 0, `${threadsNeeded} threads, subgroups of ${subgroupMaxSize}: ${64 / split} lanes per row group`);
    }
  }
  // Where the subgroups allow it, few threads still get the lanes of several row groups (lavapipe: 8 lanes).
  assert.is(weightGradRowSplit(16, 8), 4);
  assert.is(weightGradRowSplit(32, 8), 2);
  assert.is(weightGradRowSplit(16, 32), 2);
  assert.is(weightGradRowSplit(16, 64), 1);
});

test('the tuning file keeps a table per adapter, and a damaged file is named, not replaced', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'xraygen-tuning-'));
  const path = join(directory, 'conv-tuning.json');
  const x = randn(xShape.reduce((a, b) => a * b, 1), mulberry32(3));
  const weight = randn(weightShape.reduce((a, b) => a * b, 1), mulberry32(4));
  const engine = await Engine.create();
  try {
    assert.is(startAutotune(engine, path), 0);
    await convStep(engine, x, weight);
    const tuned = await finishAutotune(engine, path, () => {});
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    assert.is(saved.format, 'xraygen-conv-tuning-1');
    assert.is(Object.keys(saved.adapters[engine.describe()]).length, tuned);
    // Another engine on the same adapter starts from the saved choices.
    const later = await Engine.create();
    try {
      assert.is(startAutotune(later, path), tuned);
    } finally {
      later.destroy();
    }
    writeFileSync(path, '{"format": "xraygen-conv-tuning-1", "adapters": ');
    assert.throws(() => startAutotune(engine, path), (error: Error) => error.message.startsWith(`${path}: not a conv tuning file`));
    assert.is(readFileSync(path, 'utf8'), '{"format": "xraygen-conv-tuning-1", "adapters": ');
  } finally {
    engine.destroy();
  }
});

test.run();
