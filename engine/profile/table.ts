// The profiler's summary: per kernel (or per label) calls, total and mean time, share of the
// steps' kernel time, achieved GFLOP/s and GB/s; and a plain-text rendering of it.

import type { StepProfile } from './profiler.ts';

export interface KernelRow {
  name: string;
  calls: number;
  totalMs: number;
  meanUs: number;
  /** Fraction of the kernel time of all profiled steps (the rows sum to 1). */
  share: number;
  /** Over the calls that declared FLOPs / bytes; null where none did. */
  gflops: number | null;
  gbPerSecond: number | null;
}

export interface ProfileSummary {
  clock: StepProfile['clock'];
  quantized: boolean;
  steps: number;
  dispatchesPerStep: number;
  /** Means per step, in ms. */
  wallMs: number;
  kernelMs: number;
  encodeMs: number;
  waitMs: number;
  compileMs: number;
  /** CPU-timed GPU work (submit to work done), the fallback's GPU measure; 0 with timestamps. */
  queueMs: number;
  submitsPerStep: number;
}

export type GroupBy = 'kernel' | 'label';

export function kernelTable(steps: readonly StepProfile[], groupBy: GroupBy = 'kernel'): KernelRow[] {
  const groups = new Map<string, { calls: number; ms: number; flops: number; flopMs: number; bytes: number; byteMs: number }>();
  let allMs = 0;
  for (const step of steps.filter((s) => !s.warmup)) {
    // Encode times say nothing about a kernel's speed: rates only from GPU timestamps.
    const rates = step.clock === 'gpu-timestamps';
    for (const dispatch of step.dispatches) {
      const key = groupBy === 'kernel' ? dispatch.kernel : dispatch.label;
      const group = groups.get(key) ?? { calls: 0, ms: 0, flops: 0, flopMs: 0, bytes: 0, byteMs: 0 };
      const ms = dispatch.endMs - dispatch.startMs;
      group.calls++;
      group.ms += ms;
      if (rates && dispatch.flops !== null) {
        group.flops += dispatch.flops;
        group.flopMs += ms;
      }
      if (rates && dispatch.bytes !== null) {
        group.bytes += dispatch.bytes;
        group.byteMs += ms;
      }
      groups.set(key, group);
      allMs += ms;
    }
  }
  const rows = [...groups].map(([name, g]): KernelRow => ({
    name,
    calls: g.calls,
    totalMs: g.ms,
    meanUs: (1000 * g.ms) / g.calls,
    share: allMs > 0 ? g.ms / allMs : 0,
    gflops: g.flopMs > 0 ? g.flops / g.flopMs / 1e6 : null,
    gbPerSecond: g.byteMs > 0 ? g.bytes / g.byteMs / 1e6 : null,
  }));
  return rows.sort((a, b) => b.totalMs - a.totalMs);
}

export function summarize(steps: readonly StepProfile[]): ProfileSummary {
  const measured = steps.filter((s) => !s.warmup);
  const count = Math.max(1, measured.length);
  const total = (f: (step: StepProfile) => number) => measured.reduce((sum, step) => sum + f(step), 0) / count;
  const spanMs = (step: StepProfile, kind: string) => step.spans.filter((s) => s.kind === kind).reduce((sum, s) => sum + s.endMs - s.startMs, 0);
  return {
    clock: measured[0]?.clock ?? steps[0]?.clock ?? 'cpu',
    quantized: measured.some((s) => s.quantized),
    steps: measured.length,
    dispatchesPerStep: total((s) => s.dispatches.length),
    wallMs: total((s) => s.endMs - s.startMs),
    kernelMs: total((s) => s.dispatches.reduce((sum, d) => sum + d.endMs - d.startMs, 0)),
    encodeMs: total((s) => spanMs(s, 'encode')),
    waitMs: total((s) => spanMs(s, 'wait')),
    compileMs: total((s) => spanMs(s, 'compile')),
    queueMs: total((s) => spanMs(s, 'gpu-queue')),
    submitsPerStep: total((s) => s.spans.filter((span) => span.kind === 'submit').length),
  };
}

const number = (value: number | null, digits: number) => (value === null ? '-' : value.toFixed(digits));

/** The table as text: a summary line, then the top `limit` rows and one for the rest. */
export function formatTable(rows: readonly KernelRow[], summary: ProfileSummary, limit = 30): string {
  const timeSource = summary.clock === 'gpu-timestamps' ? 'GPU time (timestamp-query)' : 'CPU encode time (no timestamp-query)';
  const lines = [
    `${summary.steps} step(s), per step: wall ${summary.wallMs.toFixed(1)} ms, ${timeSource} ${summary.kernelMs.toFixed(1)} ms, ` +
      `encode ${summary.encodeMs.toFixed(1)} ms, waits ${summary.waitMs.toFixed(1)} ms, compiles ${summary.compileMs.toFixed(1)} ms, ` +
      `${Math.round(summary.dispatchesPerStep)} dispatches in ${summary.submitsPerStep.toFixed(0)} submit(s)`,
  ];
  if (summary.clock === 'cpu') lines.push(`GPU per step, timed on the CPU from submit to work done: ${summary.queueMs.toFixed(1)} ms (per-kernel GPU times need timestamp-query)`);
  if (summary.quantized) lines.push('note: GPU timestamps are quantized to 65.5 us (Dawn default): totals are right on average, short kernels\' means are coarse');
  const shown = rows.slice(0, limit);
  const rest = rows.slice(limit);
  const table: string[][] = [['kernel', 'calls', 'total ms', 'mean us', 'share', 'GFLOP/s', 'GB/s']];
  for (const row of shown) {
    table.push([row.name, String(row.calls), row.totalMs.toFixed(2), row.meanUs.toFixed(1), `${(100 * row.share).toFixed(1)}%`, number(row.gflops, 2), number(row.gbPerSecond, 2)]);
  }
  if (rest.length) {
    const calls = rest.reduce((sum, r) => sum + r.calls, 0);
    const ms = rest.reduce((sum, r) => sum + r.totalMs, 0);
    const share = rest.reduce((sum, r) => sum + r.share, 0);
    table.push([`(${rest.length} more)`, String(calls), ms.toFixed(2), ((1000 * ms) / calls).toFixed(1), `${(100 * share).toFixed(1)}%`, '-', '-']);
  }
  const totalMs = rows.reduce((sum, r) => sum + r.totalMs, 0);
  table.push(['total', String(rows.reduce((sum, r) => sum + r.calls, 0)), totalMs.toFixed(2), '', '100.0%', '', '']);
  const widths = table[0].map((_, column) => Math.max(...table.map((cells) => cells[column].length)));
  for (const cells of table) {
    lines.push(cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ').trimEnd());
  }
  return lines.join('\n');
}
