// The kernel profiler on tiny real workloads: the trace is valid Chrome trace-event JSON with GPU
// spans named after kernels, the table sums to the step, timestamps cost one mapAsync per step,
// and without 'timestamp-query' the CPU-timed fallback still profiles.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../engine/runtime.ts';
import { Profiler, profileSteps } from '../engine/profile/profiler.ts';
import { fillInPlace } from '../engine/ops/elementwise.ts';
import { runProfile, type ProfileOptions, type ProfileReport } from '../pipeline/commands/profile.ts';
import type { TraceEvent } from '../engine/profile/trace.ts';
import { testEngine } from './helpers/engine.ts';

const tiny: ProfileOptions = { workload: 'train-cgan', config: 'tiny', steps: 2, batch: 2, seed: 1, timestamps: true, groupBy: 'kernel', sr: true, fullImage: false };

/** Counts mapAsync calls on the profiler's own staging buffers while `body` runs. */
async function countProfilerMaps<T>(body: () => Promise<T>): Promise<{ result: T; maps: number }> {
  await testEngine(); // installs Dawn's globals (GPUBuffer) in Node
  const original = GPUBuffer.prototype.mapAsync;
  let maps = 0;
  GPUBuffer.prototype.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    if (this.label === 'profiler timestamps') maps++;
    return original.apply(this, args);
  };
  try {
    return { result: await body(), maps };
  } finally {
    GPUBuffer.prototype.mapAsync = original;
  }
}

function assertValidTrace(report: ProfileReport): TraceEvent[] {
  const parsed = JSON.parse(JSON.stringify(report.trace)) as { traceEvents: TraceEvent[]; displayTimeUnit: string };
  assert.ok(Array.isArray(parsed.traceEvents) && parsed.traceEvents.length > 0);
  for (const event of parsed.traceEvents) {
    assert.type(event.name, 'string');
    assert.ok(event.ph === 'X' || event.ph === 'M', `phase ${event.ph}`);
    assert.ok(Number.isInteger(event.pid) && Number.isInteger(event.tid));
    if (event.ph === 'X') {
      assert.ok(Number.isFinite(event.ts) && event.ts! >= 0, `${event.name} ts ${event.ts}`);
      assert.ok(Number.isFinite(event.dur) && event.dur! >= 0, `${event.name} dur ${event.dur}`);
    }
  }
  return parsed.traceEvents;
}

function assertTableSumsToSteps(report: ProfileReport): void {
  const { rows, summary } = report;
  const totalMs = rows.reduce((sum, row) => sum + row.totalMs, 0);
  assert.ok(Math.abs(totalMs - summary.kernelMs * summary.steps) < 1e-6 * Math.max(1, totalMs), `${totalMs} vs ${summary.kernelMs} x ${summary.steps}`);
  assert.ok(Math.abs(rows.reduce((sum, row) => sum + row.share, 0) - 1) < 1e-9);
  assert.is(rows.reduce((sum, row) => sum + row.calls, 0), summary.dispatchesPerStep * summary.steps);
  assert.ok(summary.kernelMs > 0);
  assert.match(report.table, /kernel\s+calls\s+total ms\s+mean us\s+share\s+GFLOP\/s\s+GB\/s/);
  assert.match(report.table, /GPU memory \(buffer pool, warm-up included\): peak [\d.]+ [KMG]iB held, [\d.]+ [KMG]iB in live tensors/);
  assert.ok(report.memory.peakHeldBytes >= report.memory.peakLiveBytes && report.memory.peakLiveBytes > 0, JSON.stringify(report.memory));
}

test('timestamp profile of a CGAN step: Chrome trace with kernel spans, table sums, one mapAsync per step', async () => {
  const { result: report, maps } = await countProfilerMaps(() => runProfile(tiny));
  const events = assertValidTrace(report);
  assertTableSumsToSteps(report);
  if (report.summary.clock !== 'gpu-timestamps') {
    assert.is(maps, 0, 'no timestamp-query on this adapter: the CPU clock, no readbacks');
    return;
  }
  // One readback per step, the warm-up step included.
  assert.is(maps, tiny.steps + 1);
  assert.is(report.profilerReadbacks, tiny.steps + 1);
  const kernels = events.filter((e) => e.ph === 'X' && e.cat === 'kernel');
  assert.ok(kernels.every((e) => e.pid === 2 && e.tid === 1));
  const names = new Set(kernels.map((e) => e.name));
  // The gather has two entry points (conv_gather and conv_gather.main_strip); either counts.
  const isGather = (name: string) => name.startsWith('conv_gather');
  assert.ok([...names].some(isGather), `no conv_gather span in ${[...names].join(', ')}`);
  assert.ok(names.has('adam'), `no adam span in ${[...names].join(', ')}`);
  // BatchNorm's forward is normalize_act, or normalize_act_vec4 for planes of a multiple of 4.
  assert.ok([...names].some((name) => name.startsWith('batchnorm.normalize_act')), `no batchnorm.normalize_act span in ${[...names].join(', ')}`);
  const gather = kernels.find((e) => isGather(e.name!))!;
  assert.match(String(gather.args!.label), /->/);
  assert.ok((gather.args!.flops as number) > 0);
  for (const kind of ['encode', 'submit', 'wait', 'compile']) assert.ok(events.some((e) => e.cat === kind), `no ${kind} span`);
  // One queue: kernel spans follow each other without overlapping.
  const sorted = kernels.slice().sort((a, b) => a.ts! - b.ts!);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i].ts! >= sorted[i - 1].ts! + sorted[i - 1].dur! - 0.01, `overlap at ${sorted[i].name}`);
  assert.ok(report.rows.some((row) => row.name.startsWith('conv_gather') && row.gflops !== null));
});

test('CPU fallback without timestamp-query: encode-timed dispatches, CPU-timed submits, no readbacks', async () => {
  const { result: report, maps } = await countProfilerMaps(() => runProfile({ ...tiny, workload: 'generate', batch: 2, disableFeatures: ['timestamp-query'] }));
  assert.is(report.summary.clock, 'cpu');
  assert.is(maps, 0);
  assert.is(report.profilerReadbacks, 0);
  const events = assertValidTrace(report);
  assertTableSumsToSteps(report);
  assert.ok(events.some((e) => e.cat === 'gpu-queue' && e.pid === 2), 'no CPU-timed submit span');
  const dispatches = events.filter((e) => e.cat === 'kernel');
  assert.ok(dispatches.length > 0 && dispatches.every((e) => e.pid === 1));
  assert.ok(dispatches.some((e) => e.name!.startsWith('conv_gather')));
  assert.match(report.table, /CPU encode time/);
});

test('timestamps across query sets and mid-step submits: one readback, ordered spans', async () => {
  // Submits after every 700 dispatches (as on a GPU) and one explicit flush between them.
  const engine = await Engine.create({ seed: 3, submitEvery: 700 });
  try {
    const profiler = new Profiler(engine);
    const target = engine.empty([64], 'f32', 'target');
    // 2100 dispatches need two 4096-query sets; the flush in the middle resolves a partial range.
    const steps = await profileSteps(profiler, async () => {
      for (let i = 0; i < 2100; i++) {
        fillInPlace(target, i);
        if (i === 1000) engine.flush();
      }
      await engine.read([target]);
    }, 1, 0);
    profiler.detach();
    assert.is(engine.observer, null);
    const step = steps[0];
    assert.is(step.dispatches.length, 2100);
    if (profiler.clock === 'gpu-timestamps') {
      assert.is(profiler.readbacks, 1);
      for (let i = 0; i < step.dispatches.length; i++) {
        const dispatch = step.dispatches[i];
        assert.ok(dispatch.endMs >= dispatch.startMs, `dispatch ${i} ends before it starts`);
        if (i > 0) assert.ok(dispatch.startMs >= step.dispatches[i - 1].endMs - 1e-6, `dispatch ${i} starts before ${i - 1} ends`);
      }
      assert.ok(step.spans.filter((s) => s.kind === 'submit').length >= 4);
    }
    const [values] = await engine.read([target]);
    assert.is(values[0], 2099);
    target.dispose();
  } finally {
    engine.destroy();
  }
});

test('--vram: the memory line says what the pool evicts a step to stay within the budget', async () => {
  const free = await runProfile({ ...tiny, batch: 8 });
  assert.is(free.memory.evictedBytesPerStep, 0);
  const budget = free.memory.peakLiveBytes;
  const tight = await runProfile({ ...tiny, batch: 8, vramBytes: budget });
  assert.ok(tight.memory.peakHeldBytes <= budget && tight.memory.evictedBytesPerStep > 0, JSON.stringify(tight.memory));
  assert.match(tight.table, / a step evicted to stay within [\d.]+ [KMG]iB/);
});

test('an error mid-step leaves no work naming the profiler\'s destroyed query set', async () => {
  const engine = await Engine.create({ seed: 3 });
  try {
    const profiler = new Profiler(engine);
    profiler.attach();
    const target = engine.empty([64], 'f32', 'target');
    profiler.beginStep('failing');
    fillInPlace(target, 5);
    // The step throws here; runProfile's cleanup detaches the profiler with this dispatch unsubmitted.
    profiler.detach();
    const [values] = await engine.read([target]);
    assert.is(values[0], 5);
    target.dispose();
  } finally {
    engine.destroy();
  }
});

test.run();
