// The randomised conv sweep from the command line: `npm run test:conv-sweep -- [--cases N] [--seed S]
// [--large]`. Each case runs with every gather and weight-gradient variant on an engine sized for this
// adapter and on one sized for a GPU; prints each failure and a summary line, and exits 1 on any
// failure. The same seed gives the same cases and values.

import { Command } from 'commander';
import { Engine } from '../engine/runtime.ts';
import { describeSweepCase, randomConvCase, sweepConvCase } from './helpers/conv-sweep.ts';
import { mulberry32 } from './helpers/random.ts';

const options = new Command()
  .option('--cases <n>', 'random cases', (v) => Number.parseInt(v, 10), 40)
  .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10), 1)
  .option('--large', 'larger kernels (7, 9), channels (to 64) and rows (to 36)')
  .parse()
  .opts<{ cases: number; seed: number; large?: boolean }>();

const engines = [await Engine.create(), await Engine.create({ adapterKind: 'gpu' })];
const rng = mulberry32(options.seed);
let failures = 0;
let ran = 0;
for (let i = 0; i < options.cases; i++) {
  const c = randomConvCase(rng, options.large);
  const start = performance.now();
  for (const engine of engines) {
    const result = await sweepConvCase(engine, c, rng);
    for (const failure of result.failures) console.log(`FAIL case ${i}: ${failure}`);
    failures += result.failures.length;
    ran += result.ran;
  }
  console.log(`case ${i} ${describeSweepCase(c)} (${((performance.now() - start) / 1e3).toFixed(1)} s)`);
}
for (const engine of engines) engine.destroy();
console.log(`${options.cases} cases, ${ran} variant combinations, ${failures} failed`);
process.exitCode = failures ? 1 : 0;
