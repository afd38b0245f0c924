// The phantom data set: layout and CSV the loader accepts, balanced classes with filtered extra rows,
// determinism, class differences, speed of a full-size render, and the two commands' argument errors.

import { readFileSync, rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BadInputFileError, UsageError } from '../engine/errors.ts';
import { register as registerPhantom } from '../pipeline/commands/phantom.ts';
import { register as registerPrepare } from '../pipeline/commands/prepare.ts';
import { selectDataset } from '../pipeline/data/loader.ts';
import { makePhantomSpec } from '../pipeline/phantom/anatomy.ts';
import { planPhantomRows, writePhantomDataset } from '../pipeline/phantom/dataset.ts';
import { renderPhantom } from '../pipeline/phantom/render.ts';

const scratch = mkdtempSync(join(tmpdir(), 'xraygen-phantom-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

const none = { mass: false, pneumonia: false };

test('row plan: balanced classes, extra filtered rows, patients with follow-ups', () => {
  const rows = planPhantomRows(30, 1);
  const count = (findings: string): number => rows.filter((row) => row.findingLabels === findings).length;
  assert.equal([count('No Finding'), count('Mass'), count('Pneumonia')], [10, 10, 10]);
  assert.ok(rows.length > 30);
  assert.ok(rows.some((row) => row.findingLabels.includes('|')), 'a multi-label row');
  assert.ok(rows.some((row) => row.findingLabels === 'Effusion' || row.findingLabels === 'Cardiomegaly'), 'an unrelated row');
  assert.ok(rows.some((row) => row.followUp >= 1), 'follow-ups');
  for (const row of rows) if (row.followUp > 0) assert.ok(rows.some((other) => other.patientId === row.patientId && other.followUp === row.followUp - 1));
  assert.equal(planPhantomRows(30, 1), rows);
});

test('written data set is accepted by the loader, extras filtered out', async () => {
  const dir = join(scratch, 'set');
  const summary = await writePhantomDataset({ outDir: dir, count: 9, size: 64, workers: 0, quiet: true, seed: 4 });
  assert.equal(summary.perClass, [3, 3, 3]);
  const lines = readFileSync(join(dir, 'Data_Entry_2017.csv'), 'utf8').trim().split('\n');
  assert.is(lines.length, summary.rows.length + 1);
  for (const line of lines) assert.is(line.split(',').length, 11);
  const selection = selectDataset(dir, { useOfficialSplit: false });
  assert.is(selection.entries.length, 9);
  assert.is(selection.skipped.length, 0);
  assert.ok(selectDataset(dir).officialSplit);
});

test('rendering is deterministic and seeds differ', () => {
  const spec = makePhantomSpec(3, 1, 1, none);
  assert.equal(Array.from(renderPhantom(spec, 128).data), Array.from(renderPhantom(spec, 128).data));
  assert.not.equal(Array.from(renderPhantom(makePhantomSpec(4, 1, 1, none), 128).data), Array.from(renderPhantom(spec, 128).data));
});

/** Pixels brighter by more than `threshold` than in the same image without the finding. */
function brighterPixels(findings: { mass: boolean; pneumonia: boolean }, seed: number, threshold: number): number {
  const plain = renderPhantom(makePhantomSpec(seed, 2, 5, none), 256).data;
  const withFinding = renderPhantom(makePhantomSpec(seed, 2, 5, findings), 256).data;
  let count = 0;
  for (let index = 0; index < plain.length; index++) if (withFinding[index]! - plain[index]! > threshold) count++;
  return count;
}

test('findings change the lungs: a compact mass, a larger consolidation', () => {
  for (const seed of [1, 2, 3]) {
    const mass = brighterPixels({ mass: true, pneumonia: false }, seed, 25);
    const pneumonia = brighterPixels({ mass: false, pneumonia: true }, seed, 25);
    assert.ok(mass > 100 && mass < 4000, `mass area ${mass}`);
    assert.ok(pneumonia > 300, `pneumonia area ${pneumonia}`);
  }
});

test('a full 1024 image renders in well under a second', () => {
  const started = performance.now();
  const image = renderPhantom(makePhantomSpec(0, 1, 1, { mass: true, pneumonia: false }));
  const seconds = (performance.now() - started) / 1000;
  assert.is(image.width, 1024);
  const mean = image.data.reduce((sum, value) => sum + value, 0) / image.data.length;
  assert.ok(mean > 60 && mean < 200, `mean grey ${mean}`);
  assert.ok(seconds < 1.5, `took ${seconds.toFixed(2)} s`);
});

function program(): Command {
  const root = new Command('xraygen').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  registerPhantom(root);
  registerPrepare(root);
  return root;
}

test('commands: bad numbers are UsageErrors, a missing data directory a BadInputFileError', async () => {
  await program().parseAsync(['phantom', '--out', join(scratch, 'x'), '--count', 'abc'], { from: 'user' }).then(
    () => assert.unreachable(),
    (error: Error) => assert.ok(error instanceof UsageError && /--count must be an integer/.test(error.message), error.message),
  );
  await program().parseAsync(['prepare', '--data', join(scratch, 'absent'), '--out', join(scratch, 'cache')], { from: 'user' }).then(
    () => assert.unreachable(),
    (error: Error) => assert.ok(error instanceof BadInputFileError && /data directory not found/.test(error.message), error.message),
  );
});

test.run();
