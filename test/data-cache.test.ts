// The prepared cache: round-trip against direct preprocessing, skip report, resume after a simulated
// crash, damage detection, and the batch iterator built on it.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BadInputFileError } from '../engine/errors.ts';
import { iterateBatches, prefetchBatches } from '../pipeline/data/batches.ts';
import { openCache } from '../pipeline/data/cache.ts';
import { makeGreyImage } from '../pipeline/data/image.ts';
import { readGreyPng } from '../pipeline/data/png.ts';
import { formatPrepareSummary, prepareCache } from '../pipeline/data/prepare.ts';
import { preprocess } from '../pipeline/data/preprocess.ts';
import { boxDownsample } from '../pipeline/data/resize.ts';
import { buildChestXrayFixture } from './fixtures/data/chestxray-fixture.ts';

const fixture = buildChestXrayFixture({ side: 32 });
const scratch = mkdtempSync(join(tmpdir(), 'xraygen-cache-'));
const quiet = { quiet: true, workers: 0 } as const;

test.after(() => {
  rmSync(fixture.dir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

test('prepare: round-trip equals direct preprocessing; skipped files are reported', async () => {
  const outDir = join(scratch, 'full');
  const pngDir = join(scratch, 'png');
  const summary = await prepareCache({ dataDir: fixture.dir, outDir, pngDir, shardSize: 5, ...quiet });
  assert.is(summary.count, 14);
  assert.equal(summary.perClass, [4, 5, 5]);
  assert.equal(summary.skipped.map((item) => item.file).sort(), ['00000008_000.png', '00000008_001.png', '00000009_000.png']);
  assert.ok(summary.skipped.find((item) => item.file === '00000008_000.png')!.reason.includes('truncated'));
  const lines = formatPrepareSummary(summary);
  assert.ok(lines.some((line) => line.includes('00000008_001.png: not a PNG file')));

  const cache = openCache(outDir);
  try {
    assert.is(cache.count, 14);
    for (let index = 0; index < cache.count; index++) {
      const expected = preprocess(makeGreyImage(fixture.side, fixture.side, fixture.pixels.get(cache.id(index))!));
      assert.equal(Array.from(cache.lr(index)), Array.from(expected.lr.data), `lr of ${cache.id(index)}`);
      assert.ok(Buffer.from(cache.hr(index)).equals(Buffer.from(expected.hr.data)), `hr of ${cache.id(index)}`);
      assert.ok(Buffer.from(await cache.hrAsync(index)).equals(Buffer.from(expected.hr.data)));
      assert.is(cache.label(index), ['No Finding', 'Mass', 'Pneumonia'].indexOf(fixture.rows.find((row) => row.imageIndex === cache.id(index))!.findings));
      assert.ok(['train', 'val', 'test'].includes(cache.split(index)));
    }
    const firstId = cache.id(0);
    assert.equal(Array.from(readGreyPng(join(pngDir, 'lr', firstId)).data), Array.from(cache.lr(0)));
    assert.is(readGreyPng(join(pngDir, 'hr', firstId)).width, 512);
    assert.is(cache.indicesOf('train').length + cache.indicesOf('val').length + cache.indicesOf('test').length, 14);
  } finally {
    cache.close();
  }
});

test('resume after a simulated crash gives the same cache and reuses finished shards', async () => {
  const outDir = join(scratch, 'crash');
  const crash = new Error('simulated crash');
  await prepareCache({ dataDir: fixture.dir, outDir, shardSize: 4, ...quiet, afterShard: (index) => { if (index === 1) throw crash; } }).then(
    () => assert.unreachable('should have crashed'),
    (error: unknown) => assert.is(error, crash),
  );
  assert.not.ok(existsSync(join(outDir, 'manifest.json')));
  assert.throws(() => openCache(outDir), (error: Error) => error instanceof BadInputFileError && /incomplete/.test(error.message));
  // a half-written temporary and a truncated shard, as a kill mid-write could leave
  writeFileSync(join(outDir, 'shard-00002.bin.tmp'), 'partial');
  writeFileSync(join(outDir, 'shard-00003.bin'), 'XRGSHARD truncated');

  const resumed = await prepareCache({ dataDir: fixture.dir, outDir, shardSize: 4, ...quiet });
  assert.is(resumed.shardsReused, 2);
  assert.is(resumed.shardsBuilt, 2);
  assert.not.ok(readdirSync(outDir).some((name) => name.endsWith('.tmp')));

  const fresh = await prepareCache({ dataDir: fixture.dir, outDir: join(scratch, 'fresh'), shardSize: 4, ...quiet });
  const [a, b] = [openCache(outDir), openCache(join(scratch, 'fresh'))];
  try {
    assert.equal(a.ids, b.ids);
    assert.equal(Array.from(a.labels), Array.from(b.labels));
    assert.equal(Array.from(a.splitCodes), Array.from(b.splitCodes));
    for (let index = 0; index < a.count; index++) assert.ok(Buffer.from(a.hr(index)).equals(Buffer.from(b.hr(index))));
    assert.equal(resumed.skipped.map((item) => item.file).sort(), fresh.skipped.map((item) => item.file).sort());
  } finally {
    a.close();
    b.close();
  }
  const again = await prepareCache({ dataDir: fixture.dir, outDir, shardSize: 4, ...quiet });
  assert.is(again.shardsBuilt, 0);
});

test('different options on an existing cache are refused; a damaged shard is detected', async () => {
  const outDir = join(scratch, 'full');
  await prepareCache({ dataDir: fixture.dir, outDir, shardSize: 7, ...quiet }).then(
    () => assert.unreachable('should refuse'),
    (error: Error) => assert.match(error.message, /prepared with other options/),
  );
  const damaged = join(scratch, 'damaged');
  await prepareCache({ dataDir: fixture.dir, outDir: damaged, shardSize: 100, ...quiet });
  const shardPath = join(damaged, 'shard-00000.bin');
  const bytes = readFileSync(shardPath);
  bytes[bytes.length - 100]! ^= 0xff;
  writeFileSync(shardPath, bytes);
  assert.throws(() => openCache(damaged), /checksum mismatch/);
});

test('batches: [-1, 1] conversion, labels, determinism, pairs crops line up, prefetch agrees', async () => {
  const cache = openCache(join(scratch, 'full'), { loadHr: true });
  try {
    const batches = [...iterateBatches(cache, { batchSize: 4, split: 'all', seed: 3 })];
    assert.is(batches.length, 4);
    assert.equal(batches.map((batch) => batch.lrShape[0]), [4, 4, 4, 2]);
    const first = batches[0]!;
    const index = first.indices[1]!;
    assert.is(first.labels[1], cache.label(index));
    assert.is(first.lr[128 * 128 + 5], Math.fround(cache.lr(index)[5]! / 127.5 - 1));
    assert.equal([...iterateBatches(cache, { batchSize: 4, split: 'all', seed: 3 })].map((batch) => Array.from(batch.indices)), batches.map((batch) => Array.from(batch.indices)));
    const seen = batches.flatMap((batch) => Array.from(batch.indices)).sort((x, y) => x - y);
    assert.equal(seen, [...Array(14).keys()]);

    const pairs = [...iterateBatches(cache, { batchSize: 5, split: 'all', mode: 'pairs', seed: 9, epochs: 2, dropLast: true })];
    assert.is(pairs.length, 4);
    for (const batch of pairs) {
      assert.equal(batch.lrShape, [5, 1, 24, 24]);
      assert.equal(batch.hrShape, [5, 1, 96, 96]);
      for (let position = 0; position < 5; position++) {
        // lr = box4(hr) in the cache, so a multiple-of-4 HR crop must box down to its LR crop
        const hrCrop = Uint8Array.from(batch.hr!.subarray(position * 96 * 96, (position + 1) * 96 * 96), (value) => Math.round((value + 1) * 127.5));
        const lrCrop = Array.from(batch.lr.subarray(position * 576, (position + 1) * 576), (value) => Math.round((value + 1) * 127.5));
        assert.equal(Array.from(boxDownsample(makeGreyImage(96, 96, hrCrop), 4).data), lrCrop);
      }
    }
    const prefetched: typeof pairs = [];
    for await (const batch of prefetchBatches(cache, { batchSize: 5, split: 'all', mode: 'pairs', seed: 9, epochs: 2, dropLast: true, prefetch: 3 })) prefetched.push(batch);
    assert.equal(prefetched.map((batch) => Array.from(batch.hr!.subarray(0, 50))), pairs.map((batch) => Array.from(batch.hr!.subarray(0, 50))));
    assert.throws(() => [...iterateBatches(cache, { batchSize: 2, mode: 'pairs', hrCrop: 90, split: 'all' })], /multiple of 4/);
  } finally {
    cache.close();
  }
});

test.run();
