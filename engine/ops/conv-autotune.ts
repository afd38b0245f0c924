// Per-shape choice of conv kernel variant (engine/ops/conv-kernels.ts). By default every shape gets
// its first candidate, a fixed rule: the deterministic mode. With autotuning on, shapes seen without
// a recorded choice are remembered, and `tuneConvolutions` times every candidate on the device once
// and records the fastest. The table is plain JSON (`exportConvTuning`, and back in through
// `enableConvAutotune`), so Node keeps it in a file (pipeline/conv-tuning-file.ts) and a browser in
// memory or a shipped file; with the same table, every run picks the same kernels (each shape's key
// ends with a tag of its candidate list, so a table made before the candidates changed is re-timed).

import type { Engine } from '../runtime.ts';
import { Profiler } from '../profile/profiler.ts';
import {
  convTuning, convolutionWeightGradient, gatherCandidates, gatherConvolution, runnableGatherVariants, runnableWeightGradVariants, weightGradCandidates,
  type GatherGeometry, type GatherVariant, type WeightGradShape, type WeightGradVariant,
} from './conv-kernels.ts';

interface WeightGradGeometry {
  gradientShape: number[];
  inputShape: number[];
  kernelHeight: number;
  kernelWidth: number;
  stride: number;
  padding: number;
}

type Pending = { op: 'gather'; geometry: GatherGeometry } | { op: 'weightGrad'; geometry: WeightGradGeometry };

interface TuningState {
  /** shape key -> variant */
  choices: Map<string, string>;
  pending: Map<string, Pending>;
  /** shape key -> the variant its last call ran, since the last `takeUsedConvVariants` */
  used: Map<string, string>;
}

const states = new WeakMap<Engine, TuningState>();

/** A tuning table: shape key -> variant name, for one adapter. */
export type ConvTuningTable = Record<string, string>;

/** Turns autotuning on for `engine`, starting from `table` (choices measured earlier on this adapter). */
export function enableConvAutotune(engine: Engine, table: ConvTuningTable = {}): void {
  states.set(engine, { choices: new Map(Object.entries(table)), pending: new Map(), used: new Map() });
}

export function exportConvTuning(engine: Engine): ConvTuningTable {
  return Object.fromEntries(states.get(engine)?.choices ?? []);
}

/** The variant each shape ran with since the last call (autotuning engines only; for reports). */
export function takeUsedConvVariants(engine: Engine): Record<string, string> {
  const state = states.get(engine);
  const used = Object.fromEntries(state?.used ?? []);
  state?.used.clear();
  return used;
}

/** Shapes met since the last tuning that have no recorded choice yet. */
export function pendingConvShapes(engine: Engine): number {
  return states.get(engine)?.pending.size ?? 0;
}

function gatherKey(g: GatherGeometry): string {
  return `gather ${g.transposed ? 'T' : 'C'} n${g.batch} ${g.inChannels}x${g.inHeight}x${g.inWidth} -> ${g.outChannels}x${g.outHeight}x${g.outWidth} k${g.kernelHeight}x${g.kernelWidth} s${g.stride} p${g.padding}`;
}

function weightGradKernel(w: WeightGradGeometry): WeightGradShape {
  return {
    height: w.kernelHeight, width: w.kernelWidth, stride: w.stride, inChannels: w.inputShape[1], gradWidth: w.gradientShape[3],
    gradHeight: w.gradientShape[2], inHeight: w.inputShape[2], inWidth: w.inputShape[3], padding: w.padding,
  };
}

function weightGradKey(w: WeightGradGeometry): string {
  return `weightGrad ${w.gradientShape.join('x')} * ${w.inputShape.join('x')} k${w.kernelHeight}x${w.kernelWidth} s${w.stride} p${w.padding}`;
}

/**
 * `runnable`: every variant that can run the shape here, which a forced one must be (a superset of the
 * candidates the tuner times: engine/ops/conv-kernels.ts runnableGatherVariants); asked only when forced.
 */
function choose<V extends string>(engine: Engine, candidates: V[], runnable: () => V[], forced: V | null, key: string, pending: () => Pending): V {
  const state = states.get(engine);
  const recorded = state?.choices.get(key) as V | undefined;
  let variant = candidates[0];
  if (forced && runnable().includes(forced)) variant = forced;
  else if (recorded && candidates.includes(recorded)) variant = recorded;
  else if (state && candidates.length > 1) state.pending.set(key, pending());
  state?.used.set(key, variant);
  return variant;
}

/**
 * A tag of the candidate list (FNV-1a of the names, in order) that ends each shape's key: a table
 * recorded before variants were added or reordered (a cached file, a shipped table) then has no entry
 * for the shape, and the new candidates are timed rather than the old choice kept.
 */
export function candidatesTag(candidates: readonly string[]): string {
  const list = candidates.join(',');
  let tag = tags.get(list);
  if (tag === undefined) {
    let hash = 0x811c9dc5;
    for (const char of list) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
    tag = `[${hash.toString(16).padStart(8, '0')}]`;
    tags.set(list, tag);
  }
  return tag;
}

/** Candidate list -> tag: every conv call asks, and there are a few dozen lists. */
const tags = new Map<string, string>();

export function gatherVariant(engine: Engine, g: GatherGeometry): GatherVariant {
  const candidates = gatherCandidates(engine, g);
  return choose(engine, candidates, () => runnableGatherVariants(engine, g), convTuning.gather, `${gatherKey(g)} ${candidatesTag(candidates)}`,
    () => ({ op: 'gather', geometry: g }));
}

export function weightGradVariant(engine: Engine, geometry: WeightGradGeometry): WeightGradVariant {
  const kernel = weightGradKernel(geometry);
  const candidates = weightGradCandidates(engine, geometry.gradientShape[1], kernel);
  return choose(engine, candidates, () => runnableWeightGradVariants(engine, geometry.gradientShape[1], kernel), convTuning.weightGrad,
    `${weightGradKey(geometry)} ${candidatesTag(candidates)}`, () => ({ op: 'weightGrad', geometry }));
}

const timesCpu = (engine: Engine): boolean =>
  engine.adapterKind === 'cpu' && typeof process !== 'undefined' && typeof process.cpuUsage === 'function';

/**
 * The cost of one call of `fn`, to the end of its GPU work, over `calls` calls recorded back to back:
 * with `profiler` (kernelClock), the kernels' own time; else wall time, except on a software adapter
 * in Node, where it is the process's CPU time (all threads, so lavapipe's workers too). On the 2-core
 * VM the second core comes and goes, and one call's wall time
 * varies by up to 2x while its CPU time varies by a few percent; every candidate spreads its work over
 * at least 32 workgroups, so CPU time ranks them as wall time would on a quiet machine.
 */
async function timeCalls(engine: Engine, fn: () => void, calls = 1, profiler: Profiler | null = null): Promise<number> {
  if (profiler) {
    profiler.beginStep('autotune');
    for (let i = 0; i < calls; i++) engine.tidy(fn);
    const step = await profiler.endStep();
    return step.dispatches.reduce((sum, d) => sum + d.endMs - d.startMs, 0) / calls;
  }
  const start = performance.now();
  const cpuStart = timesCpu(engine) ? process.cpuUsage() : null;
  for (let i = 0; i < calls; i++) engine.tidy(fn);
  await engine.sync();
  if (!cpuStart) return (performance.now() - start) / calls;
  const cpu = process.cpuUsage(cpuStart);
  return (cpu.user + cpu.system) / 1e3 / calls;
}

/**
 * Best time (`timeCalls`) of each candidate: one compile-and-warm-up call each, then TIMING_ROUNDS rounds
 * that call every candidate once in turn, so that a burst of load on a shared machine hits all of them
 * rather than deciding the winner (on the 2-core lavapipe VM one call of the same kernel varies by up
 * to 2x). A candidate that took over a second and over SLOW_CANDIDATE x the best time so far is not
 * timed again: it will not win. (The second alone left each of U1's weight-gradient candidates, 2-3 s
 * of CPU time, one sample: two tuning runs picked rows8 and rows32, and the pass then took 1,097 and
 * 1,669 ms; bench/RESULTS.md.) On a GPU, where one call takes 0.1-1 ms and the wait for the queue tens
 * of microseconds, each sample times enough calls back to back for GPU_SAMPLE_MS of work (counted from
 * a second warm-up call), so that neither the wait nor the clock's resolution ranks the candidates.
 */
async function timeCandidates(engine: Engine, calls: Array<() => void>): Promise<number[]> {
  const onGpu = !timesCpu(engine);
  const batch = calls.map(() => 1);
  for (const [i, call] of calls.entries()) {
    await timeCalls(engine, call);
    if (onGpu) batch[i] = Math.max(1, Math.min(GPU_SAMPLE_CALLS, Math.round(GPU_SAMPLE_MS / (await timeCalls(engine, call)))));
  }
  if (onGpu && engine.adapterKind === 'gpu' && !warmedGpus.has(engine)) {
    // The first candidate back to back until the clock has risen (see GPU_WARM_UP_MS).
    const start = performance.now();
    while (performance.now() - start < GPU_WARM_UP_MS) await timeCalls(engine, calls[0]!, batch[0]);
    warmedGpus.add(engine);
  }
  const profiler = onGpu ? kernelClock(engine) : null;
  const best = calls.map(() => Infinity);
  try {
    for (let round = 0; round < TIMING_ROUNDS; round++) {
      const fastest = Math.min(...best);
      for (const [i, call] of calls.entries()) {
        // The warm-up includes the pipeline's compile, so the first timed call decides what is slow.
        if (round > 0 && best[i]! > 1000 && best[i]! > SLOW_CANDIDATE * fastest) continue;
        best[i] = Math.min(best[i]!, await timeCalls(engine, call, batch[i], profiler));
      }
    }
  } finally {
    profiler?.detach();
  }
  return best;
}

/**
 * On a GPU with 'timestamp-query', a profiler to time the candidates by their kernels' own time
 * (timestamp spans summed) rather than the wall clock, which also counts the recording: on one H100
 * host whose CPU recorded slowly, G1's forward candidates took 2-4x their kernel time by the wall
 * clock, and the tuner picked one at twice the best one's kernel time (bench/RESULTS.md). Null
 * without timestamps, or while the caller's own profiler is attached (its steps stay its own).
 */
export function kernelClock(engine: Engine): Profiler | null {
  if (!engine.features.has('timestamp-query') || engine.observer !== null) return null;
  return new Profiler(engine).attach();
}

const TIMING_ROUNDS = 3;
/** Over a second and this many times the best time so far: a candidate is out of the running (see timeCandidates). */
const SLOW_CANDIDATE = 1.5;
const GPU_SAMPLE_MS = 3;
const GPU_SAMPLE_CALLS = 32;
/**
 * Before a GPU engine's first timing, this long of back-to-back work. On the H100 (bench/RESULTS.md,
 * second lease, run C) the first two shapes tuned took 2.7x and 1.9x their kernel time in the bench
 * right after (G1's forward and grad-input: 0.783 against 0.294 ms), every later shape within 1-2%:
 * the GPU's clock was still low from idling, and intermittent tuning work did not raise it at once.
 */
const GPU_WARM_UP_MS = 1000;
const warmedGpus = new WeakSet<Engine>();

/** Whether this engine's tuner has run its GPU warm-up (GPU_WARM_UP_MS); a software adapter (a browser's too) never does. */
export const gpuWarmedUp = (engine: Engine): boolean => warmedGpus.has(engine);

/**
 * Times every candidate of each pending shape (inputs of that shape, filled with small values) and
 * records the fastest. Returns the number of shapes tuned; `log` gets one line per shape.
 */
export async function tuneConvolutions(engine: Engine, log: (line: string) => void = () => {}): Promise<number> {
  const state = states.get(engine);
  if (!state) return 0;
  const pending = [...state.pending.entries()];
  state.pending.clear();
  for (const [key, entry] of pending) {
    const timings: [string, number][] = [];
    if (entry.op === 'gather') {
      const g = entry.geometry;
      const x = engine.fromArray(ramp([g.batch, g.inChannels, g.inHeight, g.inWidth]), [g.batch, g.inChannels, g.inHeight, g.inWidth], 'f32', 'tune x');
      const weightShape = [g.outChannels, g.inChannels, g.kernelHeight, g.kernelWidth];
      const weight = engine.fromArray(ramp(weightShape), weightShape, 'f32', 'tune weight');
      const variants = gatherCandidates(engine, g);
      const times = await timeCandidates(engine, variants.map((variant) => () => { gatherConvolution(x, weight, true, null, g, variant); }));
      variants.forEach((variant, i) => timings.push([variant, times[i]!]));
      x.dispose();
      weight.dispose();
    } else {
      const w = entry.geometry;
      const gradient = engine.fromArray(ramp(w.gradientShape), w.gradientShape, 'f32', 'tune gradient');
      const input = engine.fromArray(ramp(w.inputShape), w.inputShape, 'f32', 'tune input');
      const variants = weightGradCandidates(engine, w.gradientShape[1], weightGradKernel(w));
      const times = await timeCandidates(engine, variants.map((variant) => () => {
        convolutionWeightGradient(gradient, input, w.kernelHeight, w.kernelWidth, w.stride, w.padding, variant);
      }));
      variants.forEach((variant, i) => timings.push([variant, times[i]!]));
      gradient.dispose();
      input.dispose();
    }
    timings.sort((a, b) => a[1] - b[1]);
    state.choices.set(key, timings[0][0]);
    const unit = timesCpu(engine) ? 'ms CPU' : 'ms';
    log(`${key}: ${timings.map(([v, ms]) => `${v} ${ms.toFixed(ms < 10 ? 3 : 1)} ${unit}`).join(', ')}`);
  }
  return pending.length;
}

/** Small values in [-1, 1) (the timing does not depend on them, but denormals or NaNs could). */
function ramp(shape: number[]): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: size }, (_, i) => ((i * 7919) % 2003) / 1001.5 - 1);
}
