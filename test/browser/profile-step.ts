// The kernel profiler as a web page uses it: a small conv2d + batchNorm2d training step, one warm-up
// and two profiled steps, then the per-kernel table and the Chrome trace, built from the same
// engine/profile modules the CLI uses. Browser-safe: no Node imports. test/browser/run.ts checks the
// result.

import type { Engine } from '../../engine/runtime.ts';
import { Profiler, profileSteps } from '../../engine/profile/profiler.ts';
import { formatTable, kernelTable, summarize } from '../../engine/profile/table.ts';
import { buildTrace } from '../../engine/profile/trace.ts';
import { backward } from '../../engine/ops/backward.ts';
import { batchNorm2d } from '../../engine/ops/batchnorm.ts';
import { conv2d } from '../../engine/ops/conv.ts';
import { sum } from '../../engine/ops/reduce.ts';

export interface BrowserProfile {
  clock: string;
  steps: number;
  dispatchesPerStep: number;
  /** Per kernel: calls over the profiled steps, and achieved GFLOP/s where the kernel counts FLOPs. */
  rows: Array<{ name: string; calls: number; gflops: number | null }>;
  table: string;
  /** The trace as JSON text, as a page would save it. */
  trace: string;
  readbacks: number;
}

/** `timestamps: false` profiles with the CPU clock, as on a device without 'timestamp-query'. */
export async function profileTrainingStep(engine: Engine, timestamps = true): Promise<BrowserProfile> {
  const values = (size: number) => Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37));
  const x = engine.fromArray(values(2 * 8 * 16 * 16), [2, 8, 16, 16], 'f32', 'profile x');
  const weight = engine.fromArray(values(16 * 8 * 3 * 3), [16, 8, 3, 3], 'f32', 'profile weight');
  weight.requiresGrad = true;
  const channel = (value: number, name: string) => engine.fromArray(new Float32Array(16).fill(value), [16], 'f32', name);
  const [gamma, beta, runningMean, runningVar] = [channel(1, 'gamma'), channel(0, 'beta'), channel(0, 'running mean'), channel(1, 'running var')];
  const profiler = new Profiler(engine, { timestamps });
  const steps = 2;
  try {
    await profileSteps(profiler, async () => {
      const loss = engine.tidy(() => {
        const y = batchNorm2d(conv2d(x, weight, null, { stride: 1, padding: 1 }), gamma, beta, runningMean, runningVar, { training: true });
        const total = sum(y);
        backward(total);
        return engine.keep(total);
      });
      await engine.read([loss]);
      loss.dispose();
      weight.grad?.dispose();
      weight.grad = null;
    }, steps);
  } finally {
    profiler.detach();
  }
  const profiled = profiler.steps.filter((step) => !step.warmup);
  const rows = kernelTable(profiled);
  const summary = summarize(profiled);
  [x, weight, gamma, beta, runningMean, runningVar].forEach((t) => t.dispose());
  return {
    clock: profiler.clock,
    steps: summary.steps,
    dispatchesPerStep: summary.dispatchesPerStep,
    rows: rows.map((row) => ({ name: row.name, calls: row.calls, gflops: row.gflops })),
    table: formatTable(rows, summary),
    trace: JSON.stringify(buildTrace(profiler.steps)),
    readbacks: profiler.readbacks,
  };
}
