// Chrome trace-event JSON (the format Perfetto and chrome://tracing open) from profiled steps:
// one process for the CPU (steps, encode, submit, waits, compiles on their own rows) and one for
// the GPU (a span per kernel with its label, shapes, FLOPs and bytes).

import type { CpuSpanKind, StepProfile } from './profiler.ts';

export interface TraceEvent {
  name: string;
  ph: 'X' | 'M';
  pid: number;
  tid: number;
  /** Microseconds. */
  ts?: number;
  dur?: number;
  cat?: string;
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  otherData: Record<string, string>;
}

const CPU = 1;
const GPU = 2;
const CPU_ROWS: Record<'step' | CpuSpanKind, number> = { step: 1, encode: 2, submit: 2, wait: 3, profiler: 3, compile: 4, 'gpu-queue': 1 };
const ROW_NAMES: Array<[number, number, string]> = [
  [CPU, 1, 'steps'],
  [CPU, 2, 'encode + submit'],
  [CPU, 3, 'waits (mapAsync, work done)'],
  [CPU, 4, 'pipeline compiles'],
  [CPU, 5, 'dispatches (encode time)'],
];
const DISPATCH_ROW = 5;

export function buildTrace(steps: readonly StepProfile[], otherData: Record<string, string> = {}): ChromeTrace {
  const origin = steps[0]?.startMs ?? 0;
  const us = (ms: number) => Math.round((ms - origin) * 1000 * 1000) / 1000;
  const clock = steps[0]?.clock ?? 'cpu';
  const gpuRow = clock === 'gpu-timestamps' ? 'kernels (timestamp-query)' : 'submits (CPU-timed: submit to work done)';
  const events: TraceEvent[] = [
    { name: 'process_name', ph: 'M', pid: CPU, tid: 0, args: { name: 'CPU (JavaScript)' } },
    { name: 'process_name', ph: 'M', pid: GPU, tid: 0, args: { name: 'GPU queue' } },
    { name: 'thread_name', ph: 'M', pid: GPU, tid: 1, args: { name: gpuRow } },
    ...ROW_NAMES.map(([pid, tid, name]): TraceEvent => ({ name: 'thread_name', ph: 'M', pid, tid, args: { name } })),
  ];
  const span = (pid: number, tid: number, name: string, cat: string, startMs: number, endMs: number, args?: Record<string, unknown>): TraceEvent => ({
    name, ph: 'X', pid, tid, cat, ts: us(startMs), dur: Math.max(0, us(endMs) - us(startMs)), ...(args ? { args } : {}),
  });
  for (const step of steps) {
    events.push(span(CPU, CPU_ROWS.step, step.name, step.warmup ? 'warm-up' : 'step', step.startMs, step.endMs, { dispatches: step.dispatches.length }));
    for (const cpu of step.spans) {
      const pid = cpu.kind === 'gpu-queue' ? GPU : CPU;
      events.push(span(pid, CPU_ROWS[cpu.kind], cpu.name, cpu.kind, cpu.startMs, cpu.endMs));
    }
    // Without timestamps a dispatch has only its CPU encode time: shown on a CPU row instead.
    const [pid, tid] = clock === 'gpu-timestamps' ? [GPU, 1] : [CPU, DISPATCH_ROW];
    for (const dispatch of step.dispatches) {
      const seconds = (dispatch.endMs - dispatch.startMs) / 1000;
      events.push(span(pid, tid, dispatch.kernel, 'kernel', dispatch.startMs, dispatch.endMs, {
        label: dispatch.label,
        workgroups: dispatch.workgroups.join('x'),
        ...(dispatch.flops !== null ? { flops: dispatch.flops, 'GFLOP/s': seconds > 0 ? +(dispatch.flops / seconds / 1e9).toFixed(3) : null } : {}),
        ...(dispatch.bytes !== null ? { bytes: dispatch.bytes, 'GB/s': seconds > 0 ? +(dispatch.bytes / seconds / 1e9).toFixed(3) : null } : {}),
        'encode us': +((dispatch.encodeEndMs - dispatch.encodeStartMs) * 1000).toFixed(1),
      }));
    }
  }
  return { traceEvents: events, displayTimeUnit: 'ms', otherData };
}
