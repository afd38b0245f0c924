// What bench/ab-trees.ts and bench/ab-steps.ts share: each checkout's modules imported from its own
// root, and rounds that run both sides back to back, A first in even rounds and B first in odd ones
// (neither side always runs on the other's warm caches), timing each side's wall time and the
// process's CPU time (all threads: lavapipe runs the shaders on its worker threads), the figure that a
// shared VM's changing speed disturbs least when taken as a per-round B/A ratio.

import { resolve } from 'node:path';

export interface TreeModules {
  Engine: typeof import('../engine/runtime.ts').Engine;
  conv: typeof import('../engine/ops/conv.ts');
  kernels: typeof import('../engine/ops/conv-kernels.ts');
  trainingWorkload: typeof import('../pipeline/commands/profile.ts').trainingWorkload;
  batchnorm: typeof import('../engine/ops/batchnorm.ts');
  backward: typeof import('../engine/ops/backward.ts').backward;
  copy: typeof import('../engine/ops/elementwise.ts').copy;
}

export async function loadTree(root: string): Promise<TreeModules> {
  const from = (path: string) => import(resolve(root, path));
  return {
    Engine: (await from('engine/runtime.ts')).Engine,
    conv: await from('engine/ops/conv.ts'),
    kernels: await from('engine/ops/conv-kernels.ts'),
    trainingWorkload: (await from('pipeline/commands/profile.ts')).trainingWorkload,
    batchnorm: await from('engine/ops/batchnorm.ts'),
    backward: (await from('engine/ops/backward.ts')).backward,
    copy: (await from('engine/ops/elementwise.ts')).copy,
  };
}

/** The value a fraction `q` of the way through the sorted values (the lower one between two). */
export function quantile(values: number[], q: number): number {
  return [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * q)]!;
}

/** "B/A CPU time per round: median m (quartiles q1-q3)" of alternateRounds' result. */
export function cpuRatioSummary(timed: Array<[SideTimes, SideTimes]>): string {
  const ratios = timed.map(([a, b]) => b.cpuMs / a.cpuMs);
  return `B/A CPU time per round: median ${quantile(ratios, 0.5).toFixed(3)} (quartiles ${quantile(ratios, 0.25).toFixed(3)}-${quantile(ratios, 0.75).toFixed(3)})`;
}

/** The largest |a[k] - b[k]|: how far the two sides' outputs are apart. */
export function maxDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let k = 0; k < a.length; k++) max = Math.max(max, Math.abs(a[k]! - b[k]!));
  return max;
}

export interface SideTimes { wallMs: number; cpuMs: number }

/** `run(side, round)` for both sides in each of `rounds` rounds; per round, [A's times, B's times]. */
export async function alternateRounds(rounds: number, run: (side: 0 | 1, round: number) => Promise<unknown>): Promise<Array<[SideTimes, SideTimes]>> {
  const result: Array<[SideTimes, SideTimes]> = [];
  for (let round = 0; round < rounds; round++) {
    const times: SideTimes[] = [];
    for (const side of round % 2 === 0 ? [0, 1] as const : [1, 0] as const) {
      const wallStart = performance.now();
      const cpuStart = process.cpuUsage();
      await run(side, round);
      const cpu = process.cpuUsage(cpuStart);
      times[side] = { wallMs: performance.now() - wallStart, cpuMs: (cpu.user + cpu.system) / 1e3 };
    }
    result.push([times[0]!, times[1]!]);
  }
  return result;
}
