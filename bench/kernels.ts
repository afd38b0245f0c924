// Kernel benchmark: forward, grad-input and grad-weight of the GAN / SRGAN conv layers, median
// milliseconds and GFLOP/s (2 x multiply-adds), then TF.js's WebGPU backend on the same device (when
// @tensorflow/tfjs-backend-webgpu is installed; loaded after the engine's timings, and the engine timed
// again after it: each TF.js ratio uses the mean of the engine's times before and after). `--only G2,D2`
// picks layers, `--json FILE` writes the figures, `--repeats N` sets calls per timed batch, `--no-tfjs` skips the comparator,
// `--no-torch` skips the PyTorch comparator (bench/torch_conv.py, when a python3 has torch; CPU, or
// CUDA with `--torch-device cuda` on a machine with an NVIDIA GPU),
// `--compare gather=strip8,weightGrad=plain16` times the engine with and without forced variants, alternating
// A/B in one process (best of 5 each), so that a shared machine's load hits both sides alike (on a GPU:
// kernel times from timestamps; with `--autotune`, after tuning each layer's variants).
// `--fresh` gives each layer new GPU buffers (the pool's free ones destroyed before it). `--rounds N`
// times every layer N times, in order, and reports each pass's median over the rounds (PyTorch's
// and the steps' likewise, one process or step run per round).
// `--autotune` tunes each layer's kernel variants first (engine/ops/conv-autotune.ts) and prints the
// choice and every candidate's time (also in the JSON, `tuning`). Then the steps section: a full CGAN training step (paper, batch 64) and an SRGAN step
// (paper, batch 16, 96-px crops) for the engine and for PyTorch (bench/torch_steps.py); `--no-steps`
// skips it, `--step-runs N` sets the timed steps (default 3; more on a GPU, where a step takes
// milliseconds), `--submit-every N` the dispatches per submit (default: the engine's; on a GPU the
// steps are also timed with one submit per step). Results: bench/RESULTS.md.

import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import * as conv from '../engine/ops/conv.ts';
import { convTuning } from '../engine/ops/conv-kernels.ts';
import { enableConvAutotune, takeUsedConvVariants, tuneConvolutions } from '../engine/ops/conv-autotune.ts';
import { trainingWorkload } from '../pipeline/commands/profile.ts';
import { Profiler, profileSteps } from '../engine/profile/profiler.ts';
import { summarize } from '../engine/profile/table.ts';
import { engineCalls, layerGflop, layers, outputSize, passNames } from './conv-layers.ts';
import type { Layer, PassName, Passes } from './conv-layers.ts';
import { loadTfjs, tfjsPasses } from './tfjs-conv.ts';
import { layerList, oneOf, tuningChange, wholeNumber } from './options.ts';

type TorchDevice = 'cpu' | 'cuda';

/** Where the PyTorch comparators run (bench/torch_device.py): `--torch-device cuda`, else the CPU. */
function torchEnvironment(device: TorchDevice, repeats: number): NodeJS.ProcessEnv {
  return { ...process.env, TORCH_DEVICE: device, TORCH_REPEATS: String(repeats) };
}

/** "PyTorch 2.1 CPU, 2 threads, BLAS ..." or "PyTorch 2.11 cuda, CUDA 13.0, cuDNN ...". */
function torchLabel(parsed: { torch: string; device: string; threads: number; blas?: string; backend?: string }, python: string): string {
  const place = parsed.device === 'cpu' ? `CPU, ${parsed.threads} threads` : parsed.device;
  return `PyTorch ${parsed.torch} ${place}, ${parsed.blas ?? parsed.backend} (${python})`;
}

type PassMs = { fwd_ms: number; dx_ms: number; dw_ms: number };

/**
 * A PyTorch comparator script (bench/torch_conv.py, torch_steps.py) run `rounds` times, one process each:
 * its parsed outputs and the label of its torch build; null when no python3 has torch.
 */
function torchRuns<T>(script: string, rounds: number, options: { input?: string; repeats: number; device: TorchDevice }): { label: string; runs: T[] } | null {
  const python = torchPython();
  if (!python) return null;
  const runs: T[] = [];
  let label = '';
  for (let round = 0; round < rounds; round++) {
    const run = spawnSync(python, [new URL(`./${script}`, import.meta.url).pathname], { input: options.input, encoding: 'utf8', maxBuffer: 1 << 24, env: torchEnvironment(options.device, options.repeats) });
    if (run.status !== 0) throw new Error(`bench/${script} failed: ${run.stderr.split('\n').slice(-3).join(' ')}`);
    const parsed = JSON.parse(run.stdout);
    label = torchLabel(parsed, python);
    runs.push(parsed as T);
  }
  return { label: rounds > 1 ? `${label}, median of ${rounds} runs` : label, runs };
}

/** PyTorch medians per layer from bench/torch_conv.py (each pass's median over `rounds` processes, as the engine's --rounds). */
function torchTimes(selected: Layer[], repeats: number, rounds: number, device: TorchDevice): { label: string; layers: Record<string, PassMs> } | null {
  const result = torchRuns<{ layers: Record<string, PassMs> }>('torch_conv.py', rounds, { input: JSON.stringify(selected), repeats, device });
  if (!result) return null;
  const layers = Object.fromEntries(selected.map((l) => {
    const of = (key: keyof PassMs) => middleOf(result.runs.map((r) => r.layers[l.name]![key]));
    return [l.name, { fwd_ms: of('fwd_ms'), dx_ms: of('dx_ms'), dw_ms: of('dw_ms') }];
  }));
  return { label: result.label, layers };
}

/** The first python3 on PATH (or Debian's) that has torch, or null. */
function torchPython(): string | null {
  return ['python3', '/usr/bin/python3'].find((python) => spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) ?? null;
}

/** PyTorch step medians from bench/torch_steps.py (the median over `rounds` processes). */
function torchStepTimes(rounds: number, device: TorchDevice): { label: string; steps: Record<string, number> } | null {
  const result = torchRuns<{ steps: Record<string, number> }>('torch_steps.py', rounds, { repeats: 1, device });
  if (!result) return null;
  const names = Object.keys(result.runs[0]!.steps);
  return { label: result.label, steps: Object.fromEntries(names.map((name) => [name, middleOf(result.runs.map((r) => r.steps[name]!))])) };
}

/** Median wall time of `runs` full training steps (synthetic batch, losses read back) after one warm-up step. */
async function engineStepMs(engine: Engine, workload: 'train-cgan' | 'train-srgan', runs: number): Promise<number> {
  const runner = trainingWorkload(engine, { workload, config: 'paper', steps: runs + 1, seed: 0, timestamps: false, groupBy: 'kernel', sr: false, fullImage: false });
  try {
    const samples: number[] = [];
    for (let index = 0; index <= runs; index++) {
      const start = performance.now();
      await runner.runStep(index);
      if (index > 0) samples.push(performance.now() - start);
      // With --autotune, the warm-up step's new shapes are tuned before the timed steps.
      else await tuneConvolutions(engine);
    }
    return samples.sort((a, b) => a - b)[Math.floor(runs / 2)];
  } finally {
    runner.dispose();
  }
}

function enginePasses(engine: Engine, layer: Layer): Passes {
  const { calls, dispose } = engineCalls(conv, engine, layer);
  const scoped = (fn: () => Tensor) => () => engine.tidy(() => { fn(); });
  return { fwd: scoped(calls.fwd), dx: scoped(calls.dx), dw: scoped(calls.dw), dispose };
}

/**
 * Wall and CPU time of one call: `repeats` calls recorded, then one wait until the queue is empty.
 * The CPU time (all threads of this process: lavapipe runs the shaders on its worker threads) is
 * what a loaded, shared machine disturbs least. `record` is the wall time of the recording alone.
 */
async function timeOnce(fn: () => void, sync: () => Promise<void>, repeats: number): Promise<{ wall: number; cpu: number; record: number }> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < repeats; i++) fn();
  const recorded = performance.now();
  await sync();
  const cpu = process.cpuUsage(cpuStart);
  return { wall: (performance.now() - start) / repeats, cpu: (cpu.user + cpu.system) / 1e3 / repeats, record: (recorded - start) / repeats };
}

/** Median of 5 timed batches after one warm-up call (of 1 when the warm-up took over 5 s): wall ms and that batch's recording ms. */
async function median(fn: () => void, sync: () => Promise<void>, repeats: number): Promise<{ wall: number; record: number }> {
  const warmUp = await timeOnce(fn, sync, 1);
  const samples: Array<{ wall: number; record: number }> = [];
  const runs = warmUp.wall > 5000 ? 1 : 5;
  for (let run = 0; run < runs; run++) samples.push(await timeOnce(fn, sync, repeats));
  samples.sort((a, b) => a.wall - b.wall);
  return samples[Math.floor(runs / 2)]!;
}

/**
 * GPU time of one call from timestamp queries (the kernels' own spans, summed), over 3 profiled batches
 * of `repeats` calls; null without 'timestamp-query'. Beside the wall time it tells the kernels' share
 * from the recording and waiting around them.
 */
async function kernelMs(engine: Engine, fn: () => void, repeats: number): Promise<number | null> {
  if (!engine.features.has('timestamp-query')) return null;
  const profiler = new Profiler(engine);
  try {
    await profileSteps(profiler, async () => {
      for (let i = 0; i < repeats; i++) fn();
      await engine.sync();
    }, 3);
  } finally {
    profiler.detach();
  }
  return summarize(profiler.steps).kernelMs / repeats;
}

const shapeLabel = (l: Layer): string =>
  `${l.transposed ? 'convT' : 'conv'} ${l.inChannels}->${l.outChannels} ${l.inSize}->${outputSize(l)} k${l.kernel}s${l.stride}p${l.padding} b${l.batch}`;

/** `name=value,...` applied to convTuning; returns the function that restores the previous values. */
function applyTuning(change: Record<string, string>): () => void {
  const tuning = convTuning as unknown as Record<string, string | null>;
  const previous = Object.fromEntries(Object.keys(change).map((key) => [key, tuning[key]]));
  Object.assign(tuning, change);
  return () => Object.assign(tuning, previous);
}

async function compare(engine: Engine, selected: Layer[], change: Record<string, string>, repeats: number, autotune: boolean): Promise<void> {
  const spec = Object.entries(change).map(([key, value]) => `${key}=${value}`).join(',');
  const sync = () => engine.sync();
  // On a GPU with timestamps, the kernels' own time (as kernelMs) in place of wall and CPU time.
  const kernelTimes = engine.adapterKind === 'gpu' && engine.features.has('timestamp-query');
  const measure = async (fn: () => void) => (kernelTimes ? { wall: (await kernelMs(engine, fn, repeats))!, cpu: NaN } : timeOnce(fn, sync, repeats));
  if (autotune) enableConvAutotune(engine);
  console.log(`A = convTuning ${JSON.stringify(convTuning)}, B = A with ${spec}${autotune ? ', variants tuned (with A)' : ''}; best of 5 alternating A/B: ${kernelTimes ? 'kernel ms (timestamps)' : 'wall ms (CPU ms of all threads)'}; workgroup memory limit ${engine.maxWorkgroupStorageBytes} bytes`);
  for (const layer of selected) {
    const passes = enginePasses(engine, layer);
    if (autotune) {
      for (const pass of passNames) passes[pass]();
      await tuneConvolutions(engine);
    }
    const cells: string[] = [];
    for (const pass of passNames) {
      const best = { a: Infinity, b: Infinity, aCpu: Infinity, bCpu: Infinity };
      for (let round = 0; round < 6; round++) {
        const a = await measure(passes[pass]);
        const restore = applyTuning(change);
        const b = await measure(passes[pass]);
        restore();
        // Round 0 compiles both pipelines and is not counted.
        if (round === 0) continue;
        best.a = Math.min(best.a, a.wall);
        best.b = Math.min(best.b, b.wall);
        best.aCpu = Math.min(best.aCpu, a.cpu);
        best.bCpu = Math.min(best.bCpu, b.cpu);
      }
      cells.push(kernelTimes ? `${pass} ${best.a.toFixed(3)} -> ${best.b.toFixed(3)} (${(best.b / best.a).toFixed(2)}x)`
        : `${pass} ${best.a.toFixed(0)} -> ${best.b.toFixed(0)} (${(best.b / best.a).toFixed(2)}x; cpu ${best.aCpu.toFixed(0)} -> ${best.bCpu.toFixed(0)}, ${(best.bCpu / best.aCpu).toFixed(2)}x)`);
    }
    console.log(`${layer.name.padEnd(4)} ${shapeLabel(layer).padEnd(32)} ${cells.join('   ')}`);
    passes.dispose();
  }
}

/** One layer's timed passes: wall, recording and (on a GPU) kernel ms per call, and the tuner's picks. */
interface LayerTiming {
  times: Record<PassName, number>;
  recording: Record<PassName, number>;
  kernels: Record<PassName, number> | null;
  variants: string[];
  tuning: string[];
  /** Wall-clock time when the timing ended (hh:mm:ss), to set beside bench/gpu.sh's clock log. */
  at?: string;
}

async function timeLayer(engine: Engine, layer: Layer, options: { tune: boolean; fresh: boolean; repeats: number }): Promise<LayerTiming> {
  // --fresh: each layer's tensors in new GPU buffers rather than the earlier layers' (the free ones are
  // destroyed first), to tell buffer reuse from other causes of a slow layer.
  if (options.fresh) {
    await engine.sync();
    engine.pool.trim();
  }
  const passes = enginePasses(engine, layer);
  const tuning: string[] = [];
  if (options.tune) {
    for (const pass of passNames) passes[pass]();
    await tuneConvolutions(engine, (entry) => tuning.push(entry));
    takeUsedConvVariants(engine);
  }
  const times = { fwd: 0, dx: 0, dw: 0 };
  const recording = { fwd: 0, dx: 0, dw: 0 };
  // On a GPU, the kernels' own time beside the wall time (on lavapipe the two differ little).
  const kernels = engine.adapterKind === 'gpu' ? { fwd: 0, dx: 0, dw: 0 } : null;
  const variants: string[] = [];
  for (const pass of passNames) {
    ({ wall: times[pass], record: recording[pass] } = await median(passes[pass], () => engine.sync(), options.repeats));
    if (kernels) kernels[pass] = (await kernelMs(engine, passes[pass], options.repeats)) ?? NaN;
    variants.push(...Object.values(takeUsedConvVariants(engine)));
  }
  passes.dispose();
  return { times, recording, kernels, variants, tuning, at: new Date().toISOString().slice(11, 19) };
}

/** The layer's line; with `tuned`, the variants the tuner picked, and with `candidates`, every candidate's time. */
function printTiming(layer: Layer, timing: LayerTiming, show: { tuned: boolean; candidates: boolean }): void {
  const gflop = layerGflop(layer);
  const rate = (ms: number) => (gflop / (ms / 1e3)).toFixed(2).padStart(8);
  let line = `${layer.name.padEnd(6)} ${shapeLabel(layer).padEnd(30)} ${gflop.toFixed(3).padStart(6)}`;
  for (const pass of passNames) line += ` ${timing.times[pass].toFixed(2).padStart(8)} ${rate(timing.times[pass])}`;
  console.log(line);
  const ms = (values: Record<PassName, number>) => passNames.map((p) => values[p].toFixed(3)).join(' / ');
  if (timing.kernels) console.log(`       ms per call fwd/dx/dw: kernels (timestamps) ${ms(timing.kernels)}, recording ${ms(timing.recording)}${timing.at ? ` (at ${timing.at})` : ''}`);
  if (show.tuned) console.log(`       tuned variants fwd/dx/dw: ${timing.variants.join(', ')}`);
  // Every candidate's best time, so that a run on new hardware shows the margins as well as the winners.
  if (show.candidates) for (const entry of timing.tuning) console.log(`       ${entry}`);
}

/** The middle value (the lower of the two middle ones for an even count). */
const middleOf = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

function medianPasses(rounds: Array<Record<PassName, number>>): Record<PassName, number> {
  return { fwd: middleOf(rounds.map((r) => r.fwd)), dx: middleOf(rounds.map((r) => r.dx)), dw: middleOf(rounds.map((r) => r.dw)) };
}

interface BenchOptions {
  only: Layer[]; json?: string; repeats: number; compare?: Record<string, string>; autotune?: boolean; fresh?: boolean;
  rounds: number; tfjs: boolean; torch: boolean; torchDevice: TorchDevice; steps: boolean; stepRuns: number; submitEvery?: number;
}

function parseOptions(): BenchOptions {
  return new Command('bench/kernels.ts')
    .description('conv / convT kernels of the bench layers: median ms and GFLOP/s per pass, beside TF.js and PyTorch; then the paper training steps')
    .option('--only <layers>', `comma-separated layers (${layers.map((l) => l.name).join(',')})`, layerList, layers)
    .option('--json <file>', 'write every figure to this file')
    .option('--repeats <n>', 'calls per timed batch', wholeNumber(1), 1)
    .option('--compare <changes>', 'A/B of convTuning settings, e.g. gather=strip8,weightGrad=plain16', tuningChange)
    .option('--autotune', 'tune each layer\'s kernel variants first and print every candidate\'s time')
    .option('--fresh', 'new GPU buffers for each layer')
    .option('--rounds <n>', 'time every layer n times; report each pass\'s median over the rounds', wholeNumber(1), 1)
    .option('--no-tfjs', 'skip the TF.js WebGPU comparator')
    .option('--no-torch', 'skip the PyTorch comparator')
    .option('--torch-device <device>', 'where PyTorch runs', oneOf<TorchDevice>(['cpu', 'cuda']), 'cpu')
    .option('--no-steps', 'skip the training steps')
    .option('--step-runs <n>', 'timed training steps', wholeNumber(1), 3)
    .option('--submit-every <n>', 'dispatches per submit in the steps (0: one submit per step)', wholeNumber(0))
    .parse()
    .opts<BenchOptions>();
}

async function main(): Promise<void> {
  const options = parseOptions();
  const { json: jsonPath, repeats, rounds } = options;
  const autotune = !!options.autotune;
  const selected = options.only;
  const engine = await Engine.create();
  const adapter = engine.describe();
  console.log(`adapter: ${adapter}`);
  if (options.compare) {
    await compare(engine, selected, options.compare, repeats, autotune);
    engine.destroy();
    return;
  }
  if (autotune) enableConvAutotune(engine);
  const fresh = !!options.fresh;
  // Rounds: every layer timed once per round, in order, and each pass's figures the median over the
  // rounds. On the lent H100s, passes timed in one stretch of a run took up to 1.9x the kernel time
  // that the same kernel on the same shapes took earlier in the same process (bench/RESULTS.md); a
  // median over rounds a minute or more apart keeps one such stretch out of the ratios.
  const timings: LayerTiming[][] = selected.map(() => []);
  for (let round = 0; round < rounds; round++) {
    console.log(`${rounds > 1 ? `round ${round + 1} of ${rounds}\n` : ''}layer  shape                          GFLOP   fwd ms  GFLOP/s    dx ms  GFLOP/s    dw ms  GFLOP/s`);
    for (const [index, layer] of selected.entries()) {
      const timing = await timeLayer(engine, layer, { tune: autotune && round === 0, fresh, repeats });
      timings[index]!.push(timing);
      printTiming(layer, timing, { tuned: autotune, candidates: autotune && round === 0 });
    }
  }
  const results: Array<Record<string, unknown>> = [];
  const engineTimes: Array<Record<PassName, number>> = [];
  if (rounds > 1) console.log(`median of ${rounds} rounds\nlayer  shape                          GFLOP   fwd ms  GFLOP/s    dx ms  GFLOP/s    dw ms  GFLOP/s`);
  for (const [index, layer] of selected.entries()) {
    const runs = timings[index]!;
    const middle = (pick: (t: LayerTiming) => Record<PassName, number> | null) => runs[0] && pick(runs[0]) ? medianPasses(runs.map((t) => pick(t)!)) : null;
    const timing: LayerTiming = { ...runs[0]!, times: middle((t) => t.times)!, recording: middle((t) => t.recording)!, kernels: middle((t) => t.kernels), at: undefined };
    if (rounds > 1) printTiming(layer, timing, { tuned: autotune, candidates: false });
    engineTimes.push(timing.times);
    const perPass = (values: Record<PassName, number>) => ({ fwd_ms: values.fwd, dx_ms: values.dx, dw_ms: values.dw });
    results.push({
      name: layer.name, gflop: layerGflop(layer),
      engine: {
        ...perPass(timing.times), record: perPass(timing.recording), ...(timing.kernels ? { kernels: perPass(timing.kernels) } : {}),
        ...(autotune ? { variants: timing.variants, tuning: timing.tuning } : {}),
        ...(rounds > 1 ? { rounds: runs.map((t) => ({ ...perPass(t.times), ...(t.kernels ? { kernels: perPass(t.kernels) } : {}) })) } : {}),
      },
    });
  }
  // TF.js only after every engine timing, so that neither side runs with the other's state (its
  // buffers, its pending work) in the process: with both interleaved per layer, the engine's medians
  // came out up to 2x their figures without TF.js loaded.
  const tfjs = options.tfjs ? await loadTfjs(engine.device) : null;
  if (options.tfjs && !tfjs) console.log('TF.js comparator skipped: npm install -D @tensorflow/tfjs-core @tensorflow/tfjs-backend-webgpu');
  if (tfjs) {
    console.log('\ntiming TF.js WebGPU on the same device ...');
    const tfjsTimes: Array<Record<PassName, number>> = [];
    const ratioLines: string[] = [];
    for (const [index, layer] of selected.entries()) {
      const theirs = tfjsPasses(tfjs, layer);
      const other = { fwd: 0, dx: 0, dw: 0 };
      for (const pass of passNames) other[pass] = (await median(theirs[pass], tfjs.sync, repeats)).wall;
      theirs.dispose();
      tfjsTimes.push(other);
      results[index]!['tfjs'] = { fwd_ms: other.fwd, dx_ms: other.dx, dw_ms: other.dw };
    }
    // The training steps below run without it.
    tfjs.dispose();
    // The engine once more, so that each ratio sets TF.js beside the engine's times from both sides of
    // it: a software adapter's speed drifts by up to 2x over the 10-20 minutes between the two
    // (bench/RESULTS.md), and the mean of the times before and after cancels a steady drift.
    console.log('\nengine again, after TF.js (each ratio below uses the mean of its time before and after)');
    console.log('layer  shape                          GFLOP   fwd ms  GFLOP/s    dx ms  GFLOP/s    dw ms  GFLOP/s');
    for (const [index, layer] of selected.entries()) {
      const after = await timeLayer(engine, layer, { tune: false, fresh, repeats });
      printTiming(layer, after, { tuned: false, candidates: false });
      const before = engineTimes[index]!;
      const other = tfjsTimes[index]!;
      const ratio = (p: PassName) => (before[p] + after.times[p]) / 2 / other[p];
      ratioLines.push(`${layer.name.padEnd(6)} ${passNames.map((p) => other[p].toFixed(0)).join('/').padEnd(24)} ${passNames.map((p) => ratio(p).toFixed(2)).join(' ')}`);
      const engineResult = results[index]!['engine'] as Record<string, unknown>;
      engineResult['after_tfjs'] = { fwd_ms: after.times.fwd, dx_ms: after.times.dx, dw_ms: after.times.dw };
    }
    console.log('\nTF.js WebGPU on the same device: ms fwd/dx/dw, and engine/TF.js time ratios (below 1 = the engine faster)');
    for (const line of ratioLines) console.log(line);
  }
  const torch = options.torch ? torchTimes(selected, repeats, rounds, options.torchDevice) : null;
  if (torch) {
    console.log(`\n${torch.label}: ms fwd/dx/dw, and engine/PyTorch time ratios (above 1 = PyTorch faster)`);
    for (const result of results) {
      const theirs = torch.layers[result.name as string];
      const ours = result.engine as Record<string, number>;
      result['torch'] = theirs;
      console.log(`${String(result.name).padEnd(6)} ${passNames.map((p) => theirs[`${p}_ms`].toFixed(1)).join('/').padEnd(24)} ${passNames.map((p) => (ours[`${p}_ms`] / theirs[`${p}_ms`]).toFixed(2)).join(' ')}`);
    }
  } else if (options.torch) {
    console.log('PyTorch comparator skipped: no python3 with torch (Debian: apt-get install python3-torch)');
  }
  const steps: Array<Record<string, unknown>> = [];
  if (options.steps) {
    const torchSteps = options.torch ? torchStepTimes(rounds, options.torchDevice) : null;
    console.log(`\nfull training steps (paper configs; CGAN batch 64, SRGAN batch 16 on 96-px crops): median ms${rounds > 1 ? ` (the median of ${rounds} rounds)` : ''}${torchSteps ? `, beside ${torchSteps.label}` : ''}`);
    // On a GPU the engine submits every few dispatches by default; one submit per step is timed beside it.
    const chosen = options.submitEvery;
    const defaultSubmitEvery = chosen ?? engine.submitEvery;
    const submitChoices = [...new Set([defaultSubmitEvery, ...(chosen === undefined ? [0] : [])])];
    const workloads = [['cgan', 'train-cgan'], ['srgan', 'train-srgan']] as const;
    // [workload][submit choice] -> one median per round.
    const measured = workloads.map(() => submitChoices.map((): number[] => []));
    for (let round = 0; round < rounds; round++) {
      for (const [w, [, workload]] of workloads.entries()) {
        for (const [c, every] of submitChoices.entries()) {
          engine.submitEvery = every;
          measured[w]![c]!.push(await engineStepMs(engine, workload, options.stepRuns));
        }
      }
    }
    engine.submitEvery = defaultSubmitEvery;
    for (const [w, [name]] of workloads.entries()) {
      const bySubmitEvery: Record<string, number> = Object.fromEntries(submitChoices.map((every, c) => [every, middleOf(measured[w]![c]!)]));
      const engineMs = bySubmitEvery[defaultSubmitEvery]!;
      const torchMs = torchSteps?.steps[name];
      steps.push({ name, engine_ms: engineMs, ...(submitChoices.length > 1 ? { engine_ms_by_submit_every: bySubmitEvery } : {}), ...(torchMs ? { torch_ms: torchMs } : {}) });
      const others = submitChoices.slice(1).map((every) => `   (submit every ${every || 'step'}: ${bySubmitEvery[every].toFixed(0)} ms)`).join('');
      console.log(`${name.padEnd(6)} engine ${engineMs.toFixed(0)} ms${defaultSubmitEvery ? ` submitting every ${defaultSubmitEvery} dispatches` : ''}${others}${torchMs ? `   PyTorch ${torchMs.toFixed(0)} ms   engine/PyTorch ${(engineMs / torchMs).toFixed(2)}` : ''}`);
    }
  }
  if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ adapter, torch: torch?.label, layers: results, steps }, null, 2));
  engine.destroy();
}

await main();
