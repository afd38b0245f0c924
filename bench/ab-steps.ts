// A/B of the paper training steps of two source trees in one process, as bench/ab-trees.ts does for
// single conv layers: `npx tsx bench/ab-steps.ts TREE_A TREE_B [--rounds 4] [--only cgan|srgan]`.
// Each tree gets an engine on the same adapter and a synthetic paper-config workload (CGAN batch 64;
// SRGAN batch 16 on 96-px crops; pipeline/commands/profile.ts), one warm-up step each, then each round
// runs one step of both, A first in even rounds and B first in odd ones. Prints both sides' step wall
// times and each round's B/A ratio of the process's CPU time (all threads), the figure that a shared
// VM's changing speed disturbs least. Uses each tree's defaults (no autotuning).

import { resolve } from 'node:path';
import { Command } from 'commander';
import { oneOf, wholeNumber } from './options.ts';

type Workload = 'train-cgan' | 'train-srgan';

interface TreeModules {
  Engine: typeof import('../engine/runtime.ts').Engine;
  trainingWorkload: typeof import('../pipeline/commands/profile.ts').trainingWorkload;
}

async function loadTree(root: string): Promise<TreeModules> {
  return {
    Engine: (await import(resolve(root, 'engine/runtime.ts'))).Engine,
    trainingWorkload: (await import(resolve(root, 'pipeline/commands/profile.ts'))).trainingWorkload,
  };
}

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
    const walls: number[][] = [[], []];
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const cpuMs = [0, 0];
      for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
        const cpuStart = process.cpuUsage();
        const wallStart = performance.now();
        await runners[i]!.runStep(round + 1);
        walls[i]!.push(performance.now() - wallStart);
        const cpu = process.cpuUsage(cpuStart);
        cpuMs[i] = (cpu.user + cpu.system) / 1e3;
      }
      ratios.push(cpuMs[1]! / cpuMs[0]!);
    }
    const list = (values: number[], digits: number) => values.map((v) => v.toFixed(digits)).join(' / ');
    console.log(`${workload}: step wall ms A ${list(walls[0]!, 0)}, B ${list(walls[1]!, 0)}; B/A CPU time per round ${list(ratios, 3)}`);
  } finally {
    for (const runner of runners) runner.dispose();
  }
}
for (const engine of engines) engine.destroy();
