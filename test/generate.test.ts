// `generate` end to end with tiny trained weights: determinism, threshold semantics, the
// ChestX-ray8 layout and manifest, shards that concatenate to the whole job, and bad input.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTraining } from '../pipeline/train/loop.ts';
import type { TrainOptions } from '../pipeline/train/setup.ts';
import { runGenerate, shardRange, type GenerateOptions } from '../pipeline/generate/job.ts';
import { main } from '../pipeline/cli.ts';
import { readSafetensorsFile } from '../engine/io/safetensors-node.ts';
import { phantomCache } from './helpers/phantom-cache.ts';

const root = mkdtempSync(join(tmpdir(), 'xraygen-generate-'));
let weightsReady: Promise<{ cgan: string; srgan: string }> | null = null;

function trainedWeights() {
  weightsReady ??= (async () => {
    const base = async (model: 'cgan' | 'srgan'): Promise<TrainOptions> => ({
      model, data: await phantomCache(), out: join(root, model), config: 'tiny', steps: 2, batch: 4, seed: 1, vramBytes: 2 ** 30,
      resume: false, sampleEvery: 100, checkpointEvery: 100, keepCheckpoints: 1, dryRun: false, fullImage: false, pretrainSteps: 1,
      phantomCount: 0, log: () => {}, plain: true,
    });
    await runTraining(await base('cgan'));
    await runTraining(await base('srgan'));
    return { cgan: join(root, 'cgan'), srgan: join(root, 'srgan', 'weights.safetensors') };
  })();
  return weightsReady;
}

async function job(out: string, overrides: Partial<GenerateOptions> = {}): Promise<GenerateOptions> {
  const weights = await trainedWeights();
  return { weights: weights.cgan, srWeights: weights.srgan, className: 'all', count: 6, threshold: 0, maxTries: 2, sr: true, seed: 9, batch: 4, out, ...overrides };
}

const files = (dir: string) => readdirSync(join(dir, 'images')).sort().map((name) => [name, readFileSync(join(dir, 'images', name)).toString('base64')]);

test('same weights, seed and flags give the same bytes; threshold 0 keeps all', async () => {
  const a = join(root, 'a');
  const b = join(root, 'b');
  const summary = await runGenerate(await job(a, { saveTensors: join(root, 'a.safetensors') }));
  await runGenerate(await job(b));
  assert.is(summary.written, 6);
  assert.equal(files(a), files(b));
  assert.is(readFileSync(join(a, 'Data_Entry_2017.csv'), 'utf8'), readFileSync(join(b, 'Data_Entry_2017.csv'), 'utf8'));
  const tensors = await readSafetensorsFile(join(root, 'a.safetensors'));
  assert.equal(tensors.tensors.get('images_512')!.shape, [6, 1, 512, 512]);
  assert.equal(tensors.tensors.get('labels')!.dtype, 'I64');
  assert.equal(tensors.tensors.get('z')!.shape, [6, 8]);
});

test('CSV and manifest agree with the images, in the ChestX-ray8 layout', async () => {
  const out = join(root, 'layout');
  await runGenerate(await job(out, { sr: false }));
  const csv = readFileSync(join(out, 'Data_Entry_2017.csv'), 'utf8').trim().split('\n');
  assert.is(csv[0], 'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]');
  const manifest = readFileSync(join(out, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.is(csv.length - 1, manifest.length);
  manifest.forEach((entry, i) => {
    const row = csv[i + 1].split(',');
    assert.is(`images/${row[0]}`, entry.file);
    assert.is(row[1], entry.class);
    assert.is(row[1], ['No Finding', 'Mass', 'Pneumonia'][entry.z_index % 3]);
    assert.is(entry.size, 128);
    assert.ok(existsSync(join(out, entry.file)));
    assert.match(entry.weights_sha256, /^[0-9a-f]{64}$/);
    assert.ok(entry.d_score >= 0 && entry.d_score <= 1);
  });
});

test('threshold 1.0 with few tries keeps nothing and says so', async () => {
  const lines: string[] = [];
  const summary = await runGenerate(await job(join(root, 'none'), { threshold: 1, maxTries: 2, className: 'mass', count: 3 }), (line) => lines.push(line));
  assert.is(summary.written, 0);
  assert.is(summary.rejected, 3);
  assert.is(summary.stats[0].drawn, 6);
  assert.ok(lines.some((line) => /3 image\(s\) not kept after 2 tries/.test(line)));
});

test('shards cover the index range exactly once and concatenate to the whole job', async () => {
  for (const n of [1, 2, 3, 7]) {
    const covered: number[] = [];
    for (let i = 0; i < n; i++) {
      const [start, end] = shardRange(20, `${i}/${n}`);
      for (let k = start; k < end; k++) covered.push(k);
    }
    assert.equal(covered, Array.from({ length: 20 }, (_, k) => k));
  }
  const whole = join(root, 'whole');
  await runGenerate(await job(whole, { sr: false }));
  const parts = [0, 1].map((i) => join(root, `shard-${i}`));
  for (const [i, out] of parts.entries()) await runGenerate(await job(out, { sr: false, shard: `${i}/2` }));
  assert.equal([...files(parts[0]), ...files(parts[1])].sort(), files(whole));
});

async function cli(args: string[]): Promise<{ code: number; errors: string[] }> {
  const errors: string[] = [];
  const original = console.error;
  console.error = (...parts: unknown[]) => errors.push(parts.join(' '));
  try {
    return { code: await main(args), errors };
  } finally {
    console.error = original;
  }
}

test('bad input is a one-line error and exit code 2, with nothing written as if complete', async () => {
  const weights = await trainedWeights();
  const garbage = join(root, 'garbage.safetensors');
  writeFileSync(garbage, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3]));
  const locked = join(root, 'locked');
  mkdirSync(locked);
  chmodSync(locked, 0o500);
  const cases: Array<[string[], RegExp]> = [
    [['--class', 'cat'], /--class must be one of no-finding, mass, pneumonia, all; got 'cat'/],
    [['--threshold', '1.5'], /--threshold must be in \[0, 1\]/],
    [['--weights', join(root, 'missing.safetensors')], /missing\.safetensors: no such weights file/],
    [['--weights', garbage], /garbage\.safetensors: /],
    [['--weights', weights.srgan], /not CGAN generator weights: generator\.label_embed\.weight missing/],
    [['--shard', '2/2'], /--shard must be i\/n/],
  ];
  for (const [extra, expected] of cases) {
    const out = join(root, `bad-${cases.indexOf([extra, expected])}-${extra[0].slice(2)}`);
    const { code, errors } = await cli(['generate', '--weights', weights.cgan, '--sr-weights', weights.srgan, '--class', 'all', '--count', '2', '--out', out, ...extra]);
    assert.is(code, 2, extra.join(' '));
    assert.is(errors.length, 1);
    assert.match(errors[0], expected);
    assert.not.match(errors[0], /\n/);
    assert.not.ok(existsSync(join(out, 'Data_Entry_2017.csv')));
  }
  if (process.getuid?.() !== 0) {
    const { code, errors } = await cli(['generate', '--weights', weights.cgan, '--no-sr', '--class', 'mass', '--count', '1', '--out', join(locked, 'out')]);
    assert.is(code, 2);
    assert.match(errors[0], /not writable/);
  }
});

test.run();
