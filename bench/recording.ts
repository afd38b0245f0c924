// The CPU cost of recording a paper training step: `npx tsx bench/recording.ts [TREE_B] [--tree-a DIR]
// [--rounds 8] [--only cgan|srgan] [--batch N] [--dry-run cpu|gpu] [--kernels]`.
// On a GPU the engine records a step while the GPU runs the kernels already submitted; the H100 leases
// measured 35 us of recording a dispatch (14.3 ms a CGAN step against 15.3 ms of kernels), so the
// recording decides a step's wall time as much as the kernels do. Here each engine submits once per
// step (submitEvery 0), so a step's recording is the time from its start to its one submit (the
// encoder's finish included), with the GPU idle throughout; the wait for the readback comes after.
// With a second tree, each round records one step of both, A first in even rounds and B first in odd
// ones (as bench/ab-rounds.ts), and prints the per-round B/A ratios (the figure a shared VM's changing speed disturbs least).
// `--dry-run KIND` times the same steps on engines without a device, planned for that kind of adapter
// (its kernel variants): the ops' own JavaScript alone, 5 steps a round, steadier than the device's figure.
// `--kernels` also counts one step's dispatches by kernel (with `--dry-run gpu`: what a GPU step dispatches).

import { Command } from 'commander';
import { oneOf, wholeNumber } from './options.ts';
import { loadTree, quantile, type TreeModules } from './ab-rounds.ts';
import type { Engine } from '../engine/runtime.ts';

interface RecordingOptions { treeA: string; rounds: number; only?: 'cgan' | 'srgan'; batch?: number; dryRun?: 'cpu' | 'gpu'; kernels?: boolean }

const program = new Command('bench/recording.ts')
  .description('CPU time to record a paper training step (to its submit), per step and per dispatch')
  .argument('[treeB]', 'another checkout of this repository to compare with (B)')
  .option('--tree-a <dir>', 'the checkout measured as A', '.')
  .option('--rounds <n>', 'timed steps per side', wholeNumber(1), 8)
  .option('--only <model>', "one model's step (cgan or srgan)", oneOf(['cgan', 'srgan']))
  .option('--batch <n>', 'batch size (default: the paper step: CGAN 64, SRGAN 16)', wholeNumber(1))
  .option('--dry-run <kind>', "no device: the ops' JavaScript alone, planned for a 'cpu' or 'gpu' adapter", oneOf(['cpu', 'gpu']))
  .option('--kernels', "also count one step's dispatches by kernel")
  .parse();
const { treeA, rounds, only, batch, dryRun, kernels } = program.opts<RecordingOptions>();
const roots = [treeA, ...program.args];
const trees = await Promise.all(roots.map(loadTree));
// Normal priority: the JavaScript thread is what is timed (the engine lowers it on software adapters).
const engines = await Promise.all(trees.map((t) => t.Engine.create(
  dryRun ? { dryRun: true, seed: 0, adapterKind: dryRun } : { seed: 0, submitEvery: 0, keepThreadPriority: true },
)));
roots.forEach((root, i) => console.log(`${'AB'[i]} ${root}`));
console.log(`adapter: ${engines[0]!.describe()}${dryRun ? `, planned for a ${dryRun} adapter` : ''}`);
const DRY_STEPS_PER_ROUND = 5;

/** Wraps the engine's queue.submit to note when a step first submits; without a device, when the step ends. */
function submitClock(engine: Engine): { since: (start: number) => number } {
  if (!engine.gpu) return { since: (start) => performance.now() - start };
  const queue = engine.gpu.device.queue;
  const submit = queue.submit.bind(queue);
  let first = 0;
  queue.submit = (buffers) => {
    first ||= performance.now();
    submit(buffers);
  };
  return { since: (start) => { const ms = first - start; first = 0; return ms; } };
}

/** Dispatches by kernel name while `run` runs (engine.run wrapped on the instance, then unwrapped). */
async function kernelCensus(engine: Engine, run: () => Promise<unknown>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const dispatch = engine.run.bind(engine);
  engine.run = (kernel, args) => {
    counts.set(kernel.name, (counts.get(kernel.name) ?? 0) + 1);
    dispatch(kernel, args);
  };
  try {
    await run();
  } finally {
    delete (engine as { run?: unknown }).run;
  }
  return counts;
}

/** The census of each side, one row a kernel, most dispatched first. */
function printCensus(censuses: Array<Map<string, number>>): void {
  const names = [...new Set(censuses.flatMap((census) => [...census.keys()]))];
  const count = (i: number, name: string) => censuses[i]!.get(name) ?? 0;
  names.sort((a, b) => count(censuses.length - 1, b) - count(censuses.length - 1, a) || count(0, b) - count(0, a));
  const totals = censuses.map((census) => [...census.values()].reduce((sum, n) => sum + n, 0));
  console.log(`  dispatches by kernel (${censuses.map((_, i) => 'AB'[i]).join(' / ')}): ${totals.join(' / ')}`);
  for (const name of names) console.log(`  ${censuses.map((_, i) => String(count(i, name)).padStart(5)).join(' ')}  ${name}`);
}

const clocks = engines.map(submitClock);
for (const model of only ? [only] : ['cgan', 'srgan'] as const) {
  const runners = trees.map((tree: TreeModules, i) => tree.trainingWorkload(engines[i]!, {
    workload: `train-${model}`, config: 'paper', batch, steps: (rounds + 1) * DRY_STEPS_PER_ROUND, seed: 0, timestamps: false, groupBy: 'kernel', sr: false, fullImage: false,
  }));
  try {
    // Warm-up: pipeline compiles, first allocations and bind groups, the pool's free lists settling.
    const censuses: Array<Map<string, number>> = [];
    for (const [i, runner] of runners.entries()) {
      for (let step = 0; step < 3; step++) {
        if (kernels && step === 2) censuses.push(await kernelCensus(engines[i]!, () => runner.runStep(step)));
        else await runner.runStep(step);
        clocks[i]!.since(0);
      }
    }
    if (kernels) printCensus(censuses);
    const recorded: number[][] = runners.map(() => []);
    const dispatches: number[] = runners.map(() => 0);
    for (let round = 0; round < rounds; round++) {
      const sides = runners.map((_, i) => i);
      for (const side of round % 2 === 0 ? sides : sides.reverse()) {
        const engine = engines[side]!;
        const steps = dryRun ? DRY_STEPS_PER_ROUND : 1;
        const before = engine.dispatchCount;
        const start = performance.now();
        for (let step = 0; step < steps; step++) await runners[side]!.runStep(3 + round * steps + step);
        recorded[side]!.push(clocks[side]!.since(start) / steps);
        dispatches[side] = (engine.dispatchCount - before) / steps;
      }
    }
    runners.forEach((runner, i) => {
      const ms = quantile(recorded[i]!, 0.5);
      console.log(`${runner.description} ${'AB'[i]}: recording ${ms.toFixed(2)} ms a step (median of ${rounds}, least ${Math.min(...recorded[i]!).toFixed(2)}), ` +
        `${dispatches[i]} dispatches, ${(1000 * ms / dispatches[i]!).toFixed(1)} us each`);
    });
    if (runners.length === 2) {
      const ratios = recorded[1]!.map((b, round) => b / recorded[0]![round]!);
      const quartile = (q: number) => quantile(ratios, q).toFixed(3);
      console.log(`  B/A per round: median ${quartile(0.5)} (quartiles ${quartile(0.25)}-${quartile(0.75)})`);
    }
  } finally {
    for (const runner of runners) runner.dispose();
  }
}
for (const engine of engines) engine.destroy();
