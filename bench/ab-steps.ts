// A/B of the paper training steps of two source trees in one process, as bench/ab-trees.ts does for
// single conv layers: `npx tsx bench/ab-steps.ts TREE_A TREE_B [--rounds 4] [--only cgan|srgan]`.
// Each tree gets an engine on the same adapter and a synthetic paper-config workload (CGAN batch 64;
// SRGAN batch 16 on 96-px crops; pipeline/commands/profile.ts), one warm-up step each, then each round
// runs one step of both, A first in even rounds and B first in odd ones. Prints both sides' step wall
// times and each round's B/A ratio of the process's CPU time (all threads), the figure that a shared
// VM's changing speed disturbs least. Uses each tree's defaults (no autotuning).

import { Command } from 'commander';
import { oneOf, wholeNumber } from './options.ts';
import { alternateRounds, loadTree } from './ab-rounds.ts';

type Workload = 'train-cgan' | 'train-srgan';

const program = new Command('bench/ab-steps.ts')
  .argument('<treeA>', 'a checkout of this repository (A)')
  .argument('<treeB>', 'another checkout (B)')
  .option('--rounds <n>', 'timed steps per side', wholeNumber(1), 4)
  .option('--only <model>', 'one model\'s step (cgan or srgan)', oneOf(['cgan', 'srgan']))
  .parse();
const roots = program.args;
const { rounds, only } = program.opts<{ rounds: number; only?: 'cgan' | 'srgan' }>();
const trees = await Promise.all(roots.map(loadTree));
const engines = await Promise.all(trees.map((t) => t.Engine.create({ seed: 0 })));
console.log(`A ${roots[0]}\nB ${roots[1]}\nadapter: ${engines[0]!.describe()}`);
const workloads: Workload[] = only ? [`train-${only}`] : ['train-cgan', 'train-srgan'];
for (const workload of workloads) {
  const runners = trees.map((tree, i) => tree.trainingWorkload(engines[i]!, {
    workload, config: 'paper', steps: rounds + 1, seed: 0, timestamps: false, groupBy: 'kernel', sr: false, fullImage: false,
  }));
  try {
    // Warm-up: pipeline compiles and first allocations.
    for (const runner of runners) await runner.runStep(0);
    const timed = await alternateRounds(rounds, (i, round) => runners[i]!.runStep(round + 1));
    const walls = [0, 1].map((i) => timed.map((round) => round[i]!.wallMs));
    const ratios = timed.map(([a, b]) => b.cpuMs / a.cpuMs);
    const list = (values: number[], digits: number) => values.map((v) => v.toFixed(digits)).join(' / ');
    console.log(`${workload}: step wall ms A ${list(walls[0]!, 0)}, B ${list(walls[1]!, 0)}; B/A CPU time per round ${list(ratios, 3)}`);
  } finally {
    for (const runner of runners) runner.dispose();
  }
}
for (const engine of engines) engine.destroy();
