// A/B of the conv kernels of two source trees in one process: `npx tsx bench/ab-trees.ts TREE_A TREE_B
// [--only G2,D2,S1 | --shapes conv:16x64x96x96:1x64x9x9:s1p4,...] [--passes fwd,dx,dw] [--rounds 20]
// [--gather VARIANT] [--weight-grad VARIANT]`.
// Each tree is a checkout of this repository (e.g. `git worktree add /tmp/before HEAD~1`); both get
// an engine on the same adapter, the bench layers of bench/conv-layers.ts, and each round times both
// sides back to back (A first in even rounds, B first in odd ones; several calls a side where one
// takes under 50 ms): on a shared 2-core VM whose speed changes from one minute to the next, only a
// ratio measured this way says which tree is faster. Prints the best time of each side, the median
// and quartiles of the rounds' B/A ratios of the process's CPU time (all threads), and the largest
// difference between the outputs. (Best-of-5 times, the earlier summary, gave 0.55 and 1.21 for one
// change on two passes that run the same kernel; the per-round ratios gave 0.70-0.77 on both.)

import { Command } from 'commander';
import { GATHER_VARIANTS, WEIGHT_GRAD_VARIANTS, type GatherVariant, type WeightGradVariant } from '../engine/ops/conv-kernels.ts';
import { engineCalls, layerGflop, layers, passNames, type Layer, type PassName } from './conv-layers.ts';
import { layerList, oneOf, passList, shapeLayers, wholeNumber } from './options.ts';
import { alternateRounds, cpuRatioSummary, loadTree, maxDifference } from './ab-rounds.ts';

interface AbOptions { only: Layer[]; shapes?: Layer[]; passes: PassName[]; rounds: number; gather?: GatherVariant; weightGrad?: WeightGradVariant }

async function main(): Promise<void> {
  const program = new Command('bench/ab-trees.ts')
    .argument('<treeA>', 'a checkout of this repository (A)')
    .argument('<treeB>', 'another checkout (B)')
    .option('--only <layers>', `comma-separated layers (${layers.map((l) => l.name).join(',')})`, layerList, layers)
    .option('--shapes <shapes>', 'comma-separated square shapes OP:NxCxHxW:AxBxKxK:sSpP (as bench/tune-shapes.ts), in place of --only', shapeLayers)
    .option('--passes <passes>', 'comma-separated passes (fwd,dx,dw)', passList, passNames)
    .option('--rounds <n>', 'rounds per pass', wholeNumber(1), 20)
    .option('--gather <variant>', 'force this gather variant on both sides', oneOf(GATHER_VARIANTS))
    .option('--weight-grad <variant>', 'force this weight-gradient variant on both sides', oneOf(WEIGHT_GRAD_VARIANTS))
    .parse();
  const roots = program.args;
  const { only, shapes, passes, rounds, gather, weightGrad } = program.opts<AbOptions>();
  const selected = shapes ?? only;
  const trees = await Promise.all(roots.map(loadTree));
  const engines = await Promise.all(trees.map((t) => t.Engine.create()));
  for (const tree of trees) {
    tree.kernels.convTuning.gather = gather ?? null;
    tree.kernels.convTuning.weightGrad = weightGrad ?? null;
  }
  console.log(`A ${roots[0]}\nB ${roots[1]}`);
  for (const layer of selected) {
    for (const pass of passes) {
      const calls = trees.map((tree, i) => engineCalls(tree.conv, engines[i]!, layer).calls[pass]);
      const outputs: Float32Array[] = [];
      for (let i = 0; i < 2; i++) {
        const out = calls[i]!();
        outputs.push((await engines[i]!.read([out]))[0] as Float32Array);
        out.dispose();
      }
      const maxDiff = maxDifference(outputs[0]!, outputs[1]!);
      // Calls per side and round: enough for 50 ms of work, so that short kernels are not timed one at a time.
      const start = performance.now();
      engines[0]!.tidy(() => { calls[0]!(); });
      await engines[0]!.sync();
      const callsPerRound = Math.max(1, Math.min(8, Math.ceil(50 / (performance.now() - start))));
      const timed = await alternateRounds(rounds, async (i) => {
        for (let k = 0; k < callsPerRound; k++) engines[i]!.tidy(() => { calls[i]!(); });
        await engines[i]!.sync();
      });
      const best = [0, 1].map((i) => Math.min(...timed.map((round) => round[i]!.wallMs)) / callsPerRound);
      const gflop = layerGflop(layer);
      console.log(`${layer.name} ${pass}: A ${best[0]!.toFixed(1)} ms, B ${best[1]!.toFixed(1)} ms (${(gflop / best[1]! * 1e3).toFixed(1)} GFLOP/s) best of ${rounds} x ${callsPerRound}, `
        + `${cpuRatioSummary(timed)}, `
        + `max |A - B| ${maxDiff.toExponential(2)}`);
    }
  }
  for (const engine of engines) engine.destroy();
}

await main();
