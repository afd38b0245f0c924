// Wall time of the product's main job, `generate --class all --count 3` (one image per class,
// threshold 0.9, SR to 512), split into start-up (device, weights, first pipelines) and generation.
// The paper reports "less than a second" on a GTX 1050 Ti.
//
//   npx tsx bench/generate.ts [--weights FILE] [--sr-weights FILE] [--no-sr] [--json FILE]

import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { runGenerate } from '../pipeline/generate/job.ts';
import { Engine } from '../engine/runtime.ts';
import { wholeNumber } from './options.ts';

const options = new Command('bench/generate.ts')
  .option('--weights <file>', 'CGAN weights (default: the built-in ones)')
  .option('--sr-weights <file>', 'SRGAN weights (default: the built-in ones)')
  .option('--no-sr', 'keep the 128-px images')
  .option('--seed <n>', 'random seed', wholeNumber(0), 0)
  .option('--json <file>', 'write the figures to this file')
  .parse()
  .opts<{ weights?: string; srWeights?: string; sr: boolean; seed: number; json?: string }>();

const probe = await Engine.create();
const adapter = probe.describe();
probe.destroy();

const began = performance.now();
const out = mkdtempSync(join(tmpdir(), 'xraygen-bench-generate-'));
const summary = await runGenerate({
  weights: options.weights, srWeights: options.srWeights, className: 'all', count: 3, threshold: 0.9, maxTries: 20,
  sr: options.sr, seed: options.seed, batch: 16, out,
}, (line) => console.log(`  ${line}`));
const total = (performance.now() - began) / 1000;

const result = { adapter, sr: options.sr, written: summary.written, startup_s: summary.startupSeconds, generation_s: summary.generationSeconds, total_s: total };
console.log(`adapter: ${adapter}`);
console.log(`generate --class all --count 3 (threshold 0.9${result.sr ? ', SR 512' : ''}): start-up ${result.startup_s.toFixed(2)} s, generation ${result.generation_s.toFixed(2)} s, total ${total.toFixed(2)} s, ${summary.written} image(s) kept`);
if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
