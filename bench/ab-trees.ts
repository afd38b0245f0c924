// A/B of the conv kernels of two source trees in one process: `npx tsx bench/ab-trees.ts TREE_A TREE_B
// [--only G2,D2,S1] [--passes fwd,dx,dw] [--rounds 5] [--gather VARIANT] [--weight-grad VARIANT]`.
// Each tree is a checkout of this repository (e.g. `git worktree add /tmp/before HEAD~1`); both get
// an engine on the same adapter, the bench layers of bench/conv-layers.ts, and the passes alternate
// A, B, A, B, ... so that both sides see the same load: on a shared 2-core machine, run-to-run spread
// is larger than most kernel changes, and only a ratio measured this way says which tree is faster.
// Prints the best time of each side, B/A, B/A of the process's CPU time (all threads: steadier than
// wall time when the VM's second core comes and goes), and the largest difference between the outputs.

import { resolve } from 'node:path';
import { engineCalls, layerGflop, layers, passNames, type PassName } from './conv-layers.ts';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

interface TreeModules {
  Engine: typeof import('../engine/runtime.ts').Engine;
  conv: typeof import('../engine/ops/conv.ts');
  kernels: typeof import('../engine/ops/conv-kernels.ts');
}

async function loadTree(root: string): Promise<TreeModules> {
  const from = (path: string) => import(resolve(root, path));
  return {
    Engine: (await from('engine/runtime.ts')).Engine,
    conv: await from('engine/ops/conv.ts'),
    kernels: await from('engine/ops/conv-kernels.ts'),
  };
}

async function main(): Promise<void> {
  const roots = process.argv.slice(2, 4);
  if (roots.length !== 2 || roots.some((r) => r.startsWith('--'))) {
    throw new Error('usage: npx tsx bench/ab-trees.ts TREE_A TREE_B [--only G2,D2] [--passes fwd,dx,dw] [--rounds N] [--gather V] [--weight-grad V]');
  }
  const only = argument('--only')?.split(',');
  const selected = only ? layers.filter((l) => only.includes(l.name)) : layers;
  if (only && selected.length !== only.length) throw new Error(`--only: unknown layer in ${only.join(',')} (known: ${layers.map((l) => l.name).join(',')})`);
  const passes = (argument('--passes')?.split(',') ?? passNames) as PassName[];
  const unknownPass = passes.find((p) => !passNames.includes(p));
  if (unknownPass) throw new Error(`--passes: unknown pass ${unknownPass} (known: ${passNames.join(',')})`);
  const rounds = Number(argument('--rounds') ?? 5);
  const trees = await Promise.all(roots.map(loadTree));
  const engines = await Promise.all(trees.map((t) => t.Engine.create()));
  for (const tree of trees) {
    tree.kernels.convTuning.gather = (argument('--gather') ?? null) as never;
    tree.kernels.convTuning.weightGrad = (argument('--weight-grad') ?? null) as never;
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
      let maxDiff = 0;
      for (let k = 0; k < outputs[0]!.length; k++) maxDiff = Math.max(maxDiff, Math.abs(outputs[0]![k]! - outputs[1]![k]!));
      const best = [Infinity, Infinity];
      const bestCpu = [Infinity, Infinity];
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < 2; i++) {
          const start = performance.now();
          const cpuStart = process.cpuUsage();
          engines[i]!.tidy(() => { calls[i]!(); });
          await engines[i]!.sync();
          const cpu = process.cpuUsage(cpuStart);
          best[i] = Math.min(best[i]!, performance.now() - start);
          bestCpu[i] = Math.min(bestCpu[i]!, (cpu.user + cpu.system) / 1e3);
        }
      }
      const gflop = layerGflop(layer);
      console.log(`${layer.name} ${pass}: A ${best[0]!.toFixed(1)} ms, B ${best[1]!.toFixed(1)} ms (${(gflop / best[1]! * 1e3).toFixed(1)} GFLOP/s), `
        + `B/A ${(best[1]! / best[0]!).toFixed(3)} (CPU time ${(bestCpu[1]! / bestCpu[0]!).toFixed(3)}), max |A - B| ${maxDiff.toExponential(2)}`);
    }
  }
  for (const engine of engines) engine.destroy();
}

await main();
