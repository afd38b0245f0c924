// The kernel profiler: an engine observer that records every dispatch of a step with its kernel,
// label, FLOPs and bytes, and times it on the GPU with timestamp queries (one pass per dispatch,
// one readback per step) or, where 'timestamp-query' is absent, on the CPU (encode and submit
// times). Browser-safe: no Node imports; the trace file and the CLI live in pipeline/commands/.

import type { DispatchArgs, DispatchObserver, Engine } from '../runtime.ts';
import type { Kernel } from '../kernel.ts';
import { TimestampPool } from './timestamps.ts';

export type ProfileClock = 'gpu-timestamps' | 'cpu';

export interface DispatchRecord {
  kernel: string;
  label: string;
  flops: number | null;
  bytes: number | null;
  workgroups: [number, number, number];
  /** Which submit of the step carried it. */
  submit: number;
  /** CPU time (ms, performance.now) from the previous dispatch's end to this one's: its encode cost. */
  encodeStartMs: number;
  encodeEndMs: number;
  /** GPU span mapped onto the CPU clock (ms); with the 'cpu' clock these are the encode times. */
  startMs: number;
  endMs: number;
}

export type CpuSpanKind = 'encode' | 'submit' | 'wait' | 'compile' | 'gpu-queue' | 'profiler';

export interface CpuSpan {
  kind: CpuSpanKind;
  name: string;
  startMs: number;
  endMs: number;
}

export interface StepProfile {
  name: string;
  /** Warm-up steps go into the trace (their pipeline compiles) but not the table. */
  warmup: boolean;
  clock: ProfileClock;
  /** GPU timestamps rounded to 65.5 us (Dawn's default): spans are exact only on average. */
  quantized: boolean;
  startMs: number;
  endMs: number;
  dispatches: DispatchRecord[];
  spans: CpuSpan[];
}

export interface ProfilerOptions {
  /** Use timestamp queries when the device has them (default true). */
  timestamps?: boolean;
}

export class Profiler implements DispatchObserver {
  readonly clock: ProfileClock;
  readonly steps: StepProfile[] = [];
  private readonly timestamps: TimestampPool | null;
  private step: StepProfile | null = null;
  private pendingPair: number | null = null;
  /** End time (ms) of each submit of the open step. */
  private submits: number[] = [];
  /** Dispatches of the open step already carried by a submit. */
  private submittedDispatches = 0;
  private encodeStartMs = 0;
  private lastDispatchEndMs = 0;
  private submitStartMs = 0;
  private readonly queueSpans: Promise<void>[] = [];
  private previous: DispatchObserver | null = null;

  constructor(readonly engine: Engine, options: ProfilerOptions = {}) {
    const useTimestamps = (options.timestamps ?? true) && engine.features.has('timestamp-query');
    this.clock = useTimestamps ? 'gpu-timestamps' : 'cpu';
    this.timestamps = useTimestamps ? new TimestampPool(engine.device) : null;
  }

  /** Number of mapAsync readbacks the profiler itself has made (one per step with timestamps). */
  get readbacks(): number {
    return this.timestamps?.readCount ?? 0;
  }

  attach(): this {
    if (this.engine.observer === this) return this;
    this.previous = this.engine.observer;
    this.engine.observer = this;
    return this;
  }

  /** Stops observing and frees the query sets; the recorded steps stay. */
  detach(): void {
    // Work recorded with this profiler's timestamp writes goes first (after an error mid-step there is
    // some): a submit that names a destroyed query set is a validation error.
    if (this.timestamps) this.engine.flush();
    if (this.engine.observer === this) this.engine.observer = this.previous;
    this.timestamps?.destroy();
  }

  beginStep(name: string, options: { warmup?: boolean } = {}): void {
    if (this.step) throw new Error(`profiler: step ${this.step.name} is still open`);
    // Work recorded before the step is not the step's.
    this.engine.flush();
    const now = performance.now();
    this.step = { name, warmup: options.warmup ?? false, clock: this.clock, quantized: false, startMs: now, endMs: now, dispatches: [], spans: [] };
    this.submits = [];
    this.submittedDispatches = 0;
    this.encodeStartMs = now;
    this.lastDispatchEndMs = now;
  }

  /** Submits what the step left recorded, reads its timestamps (one mapAsync) and returns it. */
  async endStep(): Promise<StepProfile> {
    const step = this.step;
    if (!step) throw new Error('profiler: no open step');
    this.engine.flush();
    step.endMs = performance.now();
    this.step = null;
    if (this.timestamps) {
      const readStart = performance.now();
      const times = await this.timestamps.read();
      step.spans.push({ kind: 'profiler', name: 'profiler: read timestamps', startMs: readStart, endMs: performance.now() });
      step.quantized = this.timestamps.quantized;
      placeGpuSpans(step, times, this.submits);
    } else {
      await Promise.all(this.queueSpans.splice(0));
    }
    this.steps.push(step);
    return step;
  }

  passDescriptor(): GPUComputePassDescriptor | undefined {
    if (!this.step || !this.timestamps) return undefined;
    const pair = this.timestamps.reserve();
    this.pendingPair = pair.id;
    return { timestampWrites: pair.writes };
  }

  /** Everything is recorded after the dispatch, when its encode time is known. */
  beforeDispatch(): void {}

  afterDispatch(_pass: GPUComputePassEncoder, kernel: Kernel, args: DispatchArgs): void {
    const step = this.step;
    if (!step) return;
    const now = performance.now();
    const [x, y = 1, z = 1] = args.workgroups;
    if (this.timestamps && this.pendingPair !== step.dispatches.length) throw new Error('profiler: timestamp pairs out of step with dispatches');
    step.dispatches.push({
      kernel: kernel.name,
      label: args.label ?? kernel.name,
      flops: args.flops ?? null,
      bytes: args.bytes ?? null,
      workgroups: [x, y, z],
      submit: this.submits.length,
      encodeStartMs: this.lastDispatchEndMs,
      encodeEndMs: now,
      startMs: this.lastDispatchEndMs,
      endMs: now,
    });
    this.pendingPair = null;
    this.lastDispatchEndMs = now;
  }

  beforeSubmit(encoder: GPUCommandEncoder): void {
    const step = this.step;
    if (!step) return;
    this.submitStartMs = performance.now();
    step.spans.push({ kind: 'encode', name: `encode (${step.dispatches.length - this.submittedDispatches} dispatches)`, startMs: this.encodeStartMs, endMs: this.submitStartMs });
    this.timestamps?.resolve(encoder);
  }

  afterSubmit(): void {
    const step = this.step;
    if (!step) return;
    const now = performance.now();
    const index = this.submits.length;
    step.spans.push({ kind: 'submit', name: `submit ${index}`, startMs: this.submitStartMs, endMs: now });
    const dispatches = step.dispatches.length - this.submittedDispatches;
    this.submits.push(now);
    this.submittedDispatches = step.dispatches.length;
    this.encodeStartMs = now;
    this.lastDispatchEndMs = now;
    if (!this.timestamps) {
      // Without timestamps the GPU side is timed per submit, from the CPU: submit to work done.
      this.queueSpans.push(this.engine.device.queue.onSubmittedWorkDone().then(() => {
        step.spans.push({ kind: 'gpu-queue', name: `submit ${index} (${dispatches} dispatches)`, startMs: now, endMs: performance.now() });
      }));
    }
  }

  pipelineCompiled(kernel: Kernel, startMs: number, endMs: number): void {
    this.step?.spans.push({ kind: 'compile', name: `compile ${kernel.name}`, startMs, endMs });
  }

  waited(what: string, startMs: number, endMs: number): void {
    if (!this.step) return;
    this.step.spans.push({ kind: 'wait', name: what.startsWith('reading') ? `mapAsync (${what})` : what, startMs, endMs });
    // The CPU was blocked, not encoding: the next encode span starts after the wait.
    this.encodeStartMs = Math.max(this.encodeStartMs, endMs);
    this.lastDispatchEndMs = Math.max(this.lastDispatchEndMs, endMs);
  }
}

/**
 * Places GPU spans on the CPU clock: a shift that puts no dispatch before the end of the submit
 * that carried it (the GPU cannot start earlier), which is exact for the first kernel to run.
 */
function placeGpuSpans(step: StepProfile, times: Float64Array, submitEnds: number[]): void {
  let shiftMs = -Infinity;
  step.dispatches.forEach((dispatch, i) => {
    const submitEnd = submitEnds[dispatch.submit] ?? step.endMs;
    shiftMs = Math.max(shiftMs, submitEnd - times[2 * i] / 1e6);
  });
  step.dispatches.forEach((dispatch, i) => {
    dispatch.startMs = shiftMs + times[2 * i] / 1e6;
    dispatch.endMs = shiftMs + times[2 * i + 1] / 1e6;
  });
}

/** Runs `warmup` unrecorded-in-table steps (pipeline compiles) then `steps` profiled ones. */
export async function profileSteps(profiler: Profiler, runStep: (index: number) => Promise<unknown>, steps: number, warmup = 1): Promise<StepProfile[]> {
  profiler.attach();
  for (let index = 0; index < warmup + steps; index++) {
    const isWarmup = index < warmup;
    profiler.beginStep(isWarmup ? `warm-up ${index}` : `step ${index - warmup}`, { warmup: isWarmup });
    await runStep(index);
    await profiler.endStep();
  }
  return profiler.steps;
}
