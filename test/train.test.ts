// Training end to end on tiny configs and a tiny phantom cache: files written, the generator
// learns, and an interrupted-then-resumed run reproduces the uninterrupted run's losses exactly.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTraining } from '../pipeline/train/loop.ts';
import { planMemory } from '../pipeline/train/memory-plan.ts';
import { main } from '../pipeline/cli.ts';
import type { TrainOptions } from '../pipeline/train/setup.ts';
import { readSafetensorsFile } from '../engine/io/safetensors-node.ts';
import { toFloat32 } from '../engine/io/safetensors.ts';
import { phantomCache } from './helpers/phantom-cache.ts';

const quiet = () => {};

async function options(model: 'cgan' | 'srgan', out: string, steps: number): Promise<TrainOptions> {
  return {
    model, data: await phantomCache(), out, config: 'tiny', steps, batch: 4, seed: 5, vramBytes: 2 ** 30, resume: false,
    sampleEvery: 2, checkpointEvery: 2, keepCheckpoints: 2, dryRun: false, fullImage: false, pretrainSteps: 2,
    phantomCount: 0, log: quiet, plain: true,
  };
}

const losses = (run: string) => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => {
  const { images_per_second: _speed, live_bytes: _live, peak_bytes: _peak, evicted_bytes: _evicted, ...rest } = JSON.parse(line);
  return rest;
});

test('--saved-activations f16: the run stays within its plan, records the setting, and its losses stay near f32\'s', async () => {
  const root = mkdtempSync(join(tmpdir(), 'xraygen-train-f16-'));
  const runs = { f32: join(root, 'f32'), f16: join(root, 'f16') };
  for (const mode of ['f32', 'f16'] as const) {
    const result = await runTraining({ ...(await options('cgan', runs[mode], 3)), savedActivations: mode });
    assert.is(result.peakBytes, result.plannedPeakBytes, `${mode}: measured peak ${result.peakBytes} vs planned ${result.plannedPeakBytes}`);
    assert.is(JSON.parse(readFileSync(join(runs[mode], 'config.json'), 'utf8')).savedActivations, mode);
  }
  const [f32, f16] = [losses(runs.f32), losses(runs.f16)];
  f32.forEach((step, i) => {
    for (const key of ['loss_d', 'loss_g']) {
      const difference = Math.abs(f16[i][key] - step[key]);
      assert.ok(difference < 1e-2 * Math.max(1, Math.abs(step[key])), `step ${i} ${key}: f16 ${f16[i][key]}, f32 ${step[key]}`);
    }
  });
  rmSync(root, { recursive: true, force: true });
});

test('--recompute-activations: the same losses bit for bit as keeping them, a lower live peak, and the run within its plan', async () => {
  const root = mkdtempSync(join(tmpdir(), 'xraygen-train-recompute-'));
  const peaks: number[] = [];
  for (const recompute of [false, true]) {
    const out = join(root, String(recompute));
    const run = { ...(await options('srgan', out, 3)), recomputeActivations: recompute };
    peaks.push((await planMemory(run)).peakLiveBytes);
    const result = await runTraining(run);
    assert.is(result.peakBytes, result.plannedPeakBytes, `recompute ${recompute}`);
    assert.is(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).recomputeActivations, recompute);
  }
  assert.equal(losses(join(root, 'true')), losses(join(root, 'false')));
  assert.ok(peaks[1]! < peaks[0]!, `live peaks ${peaks}`);
  rmSync(root, { recursive: true, force: true });
});

test('train and profile refuse an unknown --saved-activations in one line (exit 2), before any work', async () => {
  for (const args of [['train', 'cgan', '--data', '/nonexistent', '--dry-run'], ['profile', 'train-cgan']]) {
    const errors: string[] = [];
    const original = console.error;
    console.error = (...parts: unknown[]) => errors.push(parts.join(' '));
    try {
      assert.is(await main([...args, '--saved-activations', 'bf16']), 2, args.join(' '));
    } finally {
      console.error = original;
    }
    assert.is(errors.length, 1);
    assert.match(errors[0], /--saved-activations must be 'f32' or 'f16', got 'bf16'/);
    assert.not.match(errors[0], /\n/);
  }
});

for (const model of ['cgan', 'srgan'] as const) {
  test(`${model}: run files, learning, and bit-identical resume after an interruption`, async () => {
    const root = mkdtempSync(join(tmpdir(), `xraygen-train-${model}-`));
    const straight = join(root, 'straight');
    const result = await runTraining(await options(model, straight, 4));
    assert.is(result.steps, 4);
    assert.not.ok(result.interrupted);
    for (const file of ['config.json', 'metrics.jsonl', 'weights.safetensors', 'report.html']) assert.ok(existsSync(join(straight, file)), file);
    assert.equal(readdirSync(join(straight, 'samples')).sort(), ['step-0000000.png', 'step-0000002.png', 'step-0000004.png']);
    assert.equal(readdirSync(join(straight, 'checkpoints')).sort(), ['step-0000002.safetensors', 'step-0000004.safetensors']);
    // The dry run replays the same allocations (kernels and all): the plan is the peak, to the byte.
    assert.is(result.peakBytes, result.plannedPeakBytes, `measured peak ${result.peakBytes} vs planned ${result.plannedPeakBytes}`);
    const report = readFileSync(join(straight, 'report.html'), 'utf8');
    assert.ok(report.includes('new Chart(') && report.includes('"label":"peak_bytes"'), 'report charts');

    // Both networks moved: their weights differ from a fresh initialisation after one checkpoint.
    const early = await readSafetensorsFile(join(straight, 'checkpoints', 'step-0000002.safetensors'));
    const late = await readSafetensorsFile(join(straight, 'weights.safetensors'));
    for (const name of [...late.tensors.keys()].filter((n) => n.endsWith('.weight') && !n.includes('.bn'))) {
      const a = toFloat32(early.tensors.get(name)!);
      const b = toFloat32(late.tensors.get(name)!);
      assert.ok(a.some((v, i) => v !== b[i]), `${name} did not change between steps 2 and 4`);
    }

    // Interrupted after its first step (as by Ctrl-C), then resumed to the end.
    const resumed = join(root, 'resumed');
    const stopped = await runTraining(await options(model, resumed, 4), { stop: true });
    assert.ok(stopped.interrupted);
    assert.is(stopped.steps, 1);
    assert.ok(stopped.checkpoint?.endsWith('step-0000001.safetensors'));
    const finished = await runTraining({ ...(await options(model, resumed, 4)), resume: true });
    assert.is(finished.steps, 4);
    assert.equal(losses(resumed), losses(straight));
  });
}

test('srgan with gradient accumulation over micro-batches trains both phases', async () => {
  const out = mkdtempSync(join(tmpdir(), 'xraygen-train-micro-'));
  const result = await runTraining({ ...(await options('srgan', out, 3)), pretrainSteps: 1, microBatch: 2 });
  assert.is(result.steps, 3);
  const records = losses(out);
  assert.is(records.length, 3);
  assert.ok('loss_d' in records[2] && Number.isFinite(records[2].loss_d));
  assert.is(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).microBatch, 2);
});

test('cgan --ema: weights.safetensors holds the generator average, and a resumed run reproduces it bit for bit', async () => {
  const root = mkdtempSync(join(tmpdir(), 'xraygen-train-ema-'));
  const run = async (out: string, stop: boolean, resume: boolean) =>
    runTraining({ ...(await options('cgan', join(root, out), 4)), ema: 0.9, resume }, { stop });
  await run('straight', false, false);
  await run('resumed', true, false);
  await run('resumed', false, true);
  const straight = await readSafetensorsFile(join(root, 'straight', 'weights.safetensors'));
  const resumed = await readSafetensorsFile(join(root, 'resumed', 'weights.safetensors'));
  const checkpoint = await readSafetensorsFile(join(root, 'straight', 'checkpoints', 'step-0000004.safetensors'));
  const values = (file: typeof straight, name: string) => [...toFloat32(file.tensors.get(name)!)];
  const names = [...straight.tensors.keys()].filter((n) => n.startsWith('generator.') && !n.endsWith('num_batches_tracked'));
  for (const name of names) {
    assert.equal(values(resumed, name), values(straight, name), `${name} after a resume`);
    assert.equal(values(straight, name), values(checkpoint, name.replace('generator.', 'generator_ema.')), `${name} is the checkpoint's average`);
  }
  // The average lags the live weights, its BatchNorm statistics are its own, and the discriminator is the live one.
  assert.ok(names.some((name) => values(straight, name).some((v, i) => v !== values(checkpoint, name)[i])), 'the average equals the live generator');
  for (const name of names.filter((n) => n.endsWith('running_var'))) {
    assert.ok(values(straight, name).some((v, i) => v !== values(checkpoint, name)[i]), `${name} was copied from the live generator`);
  }
  const discriminator = [...straight.tensors.keys()].find((n) => n.startsWith('discriminator.') && n.endsWith('.weight'))!;
  assert.equal(values(straight, discriminator), values(checkpoint, discriminator));
});

test('cgan --mismatch: D also scores real images with wrong labels, inside the memory plan', async () => {
  const root = mkdtempSync(join(tmpdir(), 'xraygen-train-mismatch-'));
  const plain = await runTraining(await options('cgan', join(root, 'plain'), 1));
  const matched = await runTraining({ ...(await options('cgan', join(root, 'mismatch'), 1)), mismatch: 1 });
  // The same first step (same init, data and draws) plus w * BCE(D(real, wrong label), fake): about log 2 at init.
  const [first] = losses(join(root, 'plain'));
  const [second] = losses(join(root, 'mismatch'));
  assert.ok(second.loss_d - first.loss_d > 0.3, `loss_d ${first.loss_d} -> ${second.loss_d}`);
  assert.is(second.d_real, first.d_real);
  assert.ok(matched.plannedPeakBytes > plain.plannedPeakBytes);
  assert.is(matched.peakBytes, matched.plannedPeakBytes);
  assert.is(JSON.parse(readFileSync(join(root, 'mismatch', 'config.json'), 'utf8')).mismatch, 1);
});

test('--lr-decay: the learning rates fall linearly to zero from the given step, and a resumed run follows the schedule', async () => {
  const root = mkdtempSync(join(tmpdir(), 'xraygen-train-decay-'));
  const decaying = async (out: string) => ({ ...(await options('cgan', join(root, out), 4)), lrDecayStart: 2 });
  await runTraining(await options('cgan', join(root, 'constant'), 4));
  await runTraining(await decaying('straight'));
  await runTraining(await decaying('resumed'), { stop: true });
  await runTraining({ ...(await decaying('resumed')), resume: true });
  const constant = losses(join(root, 'constant'));
  const straight = losses(join(root, 'straight'));
  // Steps 0-1 at the full rate, then 2/3 and 1/3 of it (the step after the last would have 0).
  assert.equal(straight.map((record) => record.lr), [2e-4, 2e-4, (2e-4 * 2) / 3, 2e-4 / 3]);
  // The first two steps match a constant-rate run; step 2's G loss already sees D's smaller update.
  assert.equal(straight.slice(0, 2), constant.slice(0, 2));
  assert.is(straight[2].loss_d, constant[2].loss_d);
  assert.is.not(straight[2].loss_g, constant[2].loss_g);
  assert.equal(losses(join(root, 'resumed')), straight);
  assert.is(JSON.parse(readFileSync(join(root, 'straight', 'config.json'), 'utf8')).lrDecayStart, 2);
  try {
    await runTraining({ ...(await options('cgan', join(root, 'late'), 4)), lrDecayStart: 4 });
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, /--lr-decay 4 must be below the run's 4 steps/);
  }
});

test('a run folder with checkpoints is not overwritten without --resume', async () => {
  const out = mkdtempSync(join(tmpdir(), 'xraygen-train-twice-'));
  await runTraining(await options('cgan', out, 2));
  try {
    await runTraining(await options('cgan', out, 2));
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, /already has checkpoints: pass --resume/);
  }
});

test('a budget at the live peak: the pool evicts as planned, and the run is the unbounded one', async () => {
  const root = mkdtempSync(join(tmpdir(), 'xraygen-train-evict-'));
  const unbounded = { ...(await options('cgan', join(root, 'unbounded'), 3)), sampleEvery: 100, checkpointEvery: 100 };
  const free = await planMemory(unbounded);
  assert.is(free.evictedBytesPerStep, 0);
  // Exactly the live peak: the tightest budget that fits (a quarter of the way up to the held peak, a step evicts nothing).
  const budget = free.peakLiveBytes;
  const logs: string[] = [];
  const tight = { ...unbounded, out: join(root, 'tight'), vramBytes: budget, log: (line: string) => logs.push(line) };
  const plan = await planMemory(tight);
  assert.ok(plan.fits && plan.evictedBytesPerStep > 0 && plan.peakBytes <= budget, JSON.stringify(plan));
  assert.is(plan.peakLiveBytes, free.peakLiveBytes);

  const result = await runTraining(tight);
  await runTraining(unbounded);
  assert.is(result.peakBytes, result.plannedPeakBytes);
  assert.equal(losses(tight.out), losses(unbounded.out));
  const evicted = readFileSync(join(tight.out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line).evicted_bytes);
  assert.is(evicted[2], plan.evictedBytesPerStep, `evicted per step ${evicted}`);
  assert.ok(logs.some((line) => /fits --vram .* with buffers evicted from the pool/.test(line)), logs.join('\n'));

  // One byte under the live peak does not fit.
  const under = await planMemory({ ...tight, vramBytes: free.peakLiveBytes - 1 });
  assert.not.ok(under.fits);
  assert.is(under.largestBatch, 3);
  rmSync(root, { recursive: true, force: true });
});

test('a budget too small is refused before training, with the largest batch that fits', async () => {
  const out = mkdtempSync(join(tmpdir(), 'xraygen-train-budget-'));
  try {
    await runTraining({ ...(await options('cgan', out, 2)), vramBytes: 4 * 2 ** 20 });
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, /batch 4 needs a planned peak of .* MiB in live tensors, over the --vram budget of 4\.00 MiB; the largest batch that fits is \d+/);
  }
  assert.not.ok(existsSync(join(out, 'checkpoints')));
});

test('plans assume the storage binding limit they are made for: a GPU\'s 2 GiB lets whole images train in halves, not pairs', async () => {
  // Whole 512-px SRGAN images, batch 16, for a GPU adapter and plenty of memory (allocations only).
  const whole = { ...(await options('srgan', '', 1)), config: 'paper', batch: 16, fullImage: true, vramBytes: 80 * 2 ** 30, plannedFor: 'gpu' as const };
  const portable = await planMemory(whole);
  assert.is(portable.plannedBindingBytes, 128 * 2 ** 20);
  assert.is(portable.microBatch, 2);
  const large = await planMemory({ ...whole, plannedBindingBytes: 2 ** 31 - 4 });
  // 16 at once passes the 65,535-workgroup dispatch limit (the discriminator's first conv), and 15 + 1 is not tried.
  assert.is(large.microBatch, 8);
  assert.ok(large.fits && large.peakLiveBytes > portable.peakLiveBytes);
});

test('a batch no budget can hold (a tensor over the storage binding limit) is refused as such', async () => {
  const out = mkdtempSync(join(tmpdir(), 'xraygen-train-unrunnable-'));
  // Whole 512-px images in micro-batches of 4: the paper SRGAN's 4 x 64 x 512 x 512 activations pass 128 MiB.
  const options512 = { ...(await options('srgan', out, 1)), config: 'paper', batch: 4, microBatch: 4, fullImage: true, vramBytes: 4 * 2 ** 30, plannedFor: 'gpu' as const };
  try {
    await runTraining(options512);
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, /^batch 4 in micro-batches of 4 cannot run on this adapter at any --vram \(.*storage binding limit.*\); the largest batch that fits is 2$/);
  }
  assert.not.ok(existsSync(join(out, 'checkpoints')));
});

test.run();
