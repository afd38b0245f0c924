// The ChestX-ray8 loader on a tiny fixture in the real layout: selection, PNG conversions, skip report,
// CSV errors and the patient-wise split.

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BadInputFileError } from '../engine/errors.ts';
import { parseCsv } from '../pipeline/data/csv.ts';
import { findImageFiles, selectDataset } from '../pipeline/data/loader.ts';
import { readGreyPng } from '../pipeline/data/png.ts';
import { splitByPatient } from '../pipeline/data/split.ts';
import { buildChestXrayFixture, fixtureHeader } from './fixtures/data/chestxray-fixture.ts';

const fixture = buildChestXrayFixture();

test.after(() => rmSync(fixture.dir, { recursive: true, force: true }));

test('csv parser handles quotes, CRLF and the BOM', () => {
  assert.equal(parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\r\n\r\n1,\n'), [['a', 'b'], ['x, y', 'say "hi"'], ['1', '']]);
});

test('finds PNGs in images_001/images/ and images_002/', () => {
  const files = findImageFiles(fixture.dir);
  assert.ok(files.get('00000001_000.png')!.includes(join('images_001', 'images')));
  assert.ok(files.get('00000001_001.png')!.includes('images_002'));
});

test('selects exactly-one-class rows and reports the missing file', () => {
  const selection = selectDataset(fixture.dir);
  const names = selection.entries.map((entry) => entry.imageIndex);
  assert.not.ok(names.includes('00000009_001.png'), 'multi-label row left out');
  assert.not.ok(names.includes('00000010_000.png'), 'unrelated row left out');
  assert.not.ok(names.includes('00000009_000.png'), 'missing file left out');
  // 12 clean + RGBA + 16-bit + truncated + not-a-PNG (the last two are skipped at decode time)
  assert.is(selection.entries.length, 16);
  assert.equal(selection.skipped, [{ file: '00000009_000.png', reason: 'file not found under images*/' }]);
  assert.equal(selection.rowsInClasses, [5, 6, 6]);
  for (const entry of selection.entries) assert.is(entry.label, ['No Finding', 'Mass', 'Pneumonia'].indexOf(fixture.rows.find((row) => row.imageIndex === entry.imageIndex)!.findings));
});

test('cap per class is deterministic from the seed', () => {
  const first = selectDataset(fixture.dir, { limitPerClass: 2, seed: 5 }).entries.map((entry) => entry.imageIndex);
  const again = selectDataset(fixture.dir, { limitPerClass: 2, seed: 5 }).entries.map((entry) => entry.imageIndex);
  assert.is(first.length, 6);
  assert.equal(first, again);
});

test('RGBA and 16-bit PNGs decode to the same grey values', () => {
  for (const name of ['00000007_000.png', '00000007_001.png']) {
    const path = findImageFiles(fixture.dir).get(name)!;
    assert.equal(Array.from(readGreyPng(path).data), Array.from(fixture.pixels.get(name)!), name);
  }
});

test('truncated, non-PNG and missing files are BadInputFileErrors naming the file', () => {
  const files = findImageFiles(fixture.dir);
  assert.throws(() => readGreyPng(files.get('00000008_000.png')!), (error: Error) => error instanceof BadInputFileError && /truncated/.test(error.message));
  assert.throws(() => readGreyPng(files.get('00000008_001.png')!), (error: Error) => error instanceof BadInputFileError && /not a PNG/.test(error.message));
  assert.throws(() => readGreyPng(join(fixture.dir, 'nope.png')), (error: Error) => error instanceof BadInputFileError && error.message.includes('nope.png: file not found'));
});

test('a CSV without required columns is a clear error', () => {
  const broken = buildChestXrayFixture({ side: 8, csv: 'Image Index,Labels\n00000001_000.png,Mass' });
  try {
    assert.throws(() => selectDataset(broken.dir), (error: Error) => error instanceof BadInputFileError && /missing columns 'Finding Labels', 'Patient ID'/.test(error.message));
    writeFileSync(join(broken.dir, 'Data_Entry_2017.csv'), '');
    assert.throws(() => selectDataset(broken.dir), /empty CSV/);
    rmSync(join(broken.dir, 'Data_Entry_2017.csv'));
    assert.throws(() => selectDataset(broken.dir), /Data_Entry_2017\.csv: file not found/);
  } finally {
    rmSync(broken.dir, { recursive: true, force: true });
  }
});

test('patient-wise split: no patient in two splits, deterministic, roughly the fractions', () => {
  const items = Array.from({ length: 2000 }, (_, index) => ({ imageIndex: `${index}.png`, patientId: String(Math.floor(index / 3.7)) }));
  const splits = splitByPatient(items, 11);
  assert.equal(splits, splitByPatient(items, 11));
  assert.not.equal(splits, splitByPatient(items, 12));
  const splitOfPatient = new Map<string, string>();
  items.forEach((item, index) => {
    const previous = splitOfPatient.get(item.patientId);
    assert.ok(previous === undefined || previous === splits[index], `patient ${item.patientId} in two splits`);
    splitOfPatient.set(item.patientId, splits[index]!);
  });
  const count = (name: string): number => splits.filter((split) => split === name).length;
  assert.ok(Math.abs(count('test') - 200) <= 8 && Math.abs(count('val') - 200) <= 8, `test ${count('test')} val ${count('val')}`);
});

test('official lists decide the test split when present', () => {
  const withLists = buildChestXrayFixture({ side: 8, officialLists: true });
  try {
    const selection = selectDataset(withLists.dir);
    assert.ok(selection.officialSplit);
    for (const entry of selection.entries) assert.is(entry.split === 'test', entry.patientId === '2' || entry.patientId === '5', entry.imageIndex);
    assert.not.ok(selectDataset(withLists.dir, { useOfficialSplit: false }).officialSplit);
  } finally {
    rmSync(withLists.dir, { recursive: true, force: true });
  }
});

test('fixture CSV uses the real ChestX-ray8 header', () => {
  assert.ok(fixtureHeader.startsWith('Image Index,Finding Labels,Follow-up #,Patient ID'));
});

test.run();
