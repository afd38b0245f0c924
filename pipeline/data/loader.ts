// ChestX-ray8 loader: reads Data_Entry_2017.csv, finds the PNGs under images*/ (also images_001/images/),
// keeps rows whose Finding Labels is exactly one class, caps per class and splits patient-wise.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputFileError } from '../../engine/errors.ts';
import { readCsvTable } from './csv.ts';
import { labelFromFindings, labelIds, type LabelId } from './labels.ts';
import { hashKeys, hashString } from '../../engine/host-random.ts';
import { defaultSplitFractions, splitByPatient, type OfficialSplitLists, type Split, type SplitFractions } from './split.ts';

export const csvFileNames = ['Data_Entry_2017.csv', 'Data_Entry_2017_v2020.csv'];
export const requiredColumns = ['Image Index', 'Finding Labels', 'Patient ID'] as const;
/** The paper uses 5,000 images of each class. */
export const defaultLimitPerClass = 5000;

export interface DatasetEntry {
  /** the file name, e.g. `00000001_000.png`; also the image's id in the cache */
  imageIndex: string;
  label: LabelId;
  patientId: string;
  followUp: number;
  /** absolute or data-relative path of the PNG */
  path: string;
  split: Split;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface DatasetSelection {
  dataDir: string;
  csvPath: string;
  entries: DatasetEntry[];
  /** selected rows whose file is missing (decode failures are added later, by prepare) */
  skipped: SkippedFile[];
  rowsRead: number;
  /** rows whose Finding Labels is exactly one of the classes, before the cap */
  rowsInClasses: number[];
  officialSplit: boolean;
}

export interface SelectOptions {
  /** at most this many images per class (default 5000, the paper's) */
  limitPerClass?: number;
  seed?: number;
  fractions?: SplitFractions;
  /** honour train_val_list.txt / test_list.txt when present (default true) */
  useOfficialSplit?: boolean;
}

/** Maps PNG file name -> path for every PNG in DIR/images*\/ and DIR/images*\/images/. */
export function findImageFiles(dataDir: string): Map<string, string> {
  const files = new Map<string, string>();
  const scan = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isFile() && entry.name.toLowerCase().endsWith('.png')) {
        if (!files.has(entry.name)) files.set(entry.name, join(folder, entry.name));
      } else if (entry.isDirectory() && entry.name === 'images') scan(join(folder, entry.name));
    }
  };
  for (const entry of readdirSync(dataDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isDirectory() && entry.name.startsWith('images')) scan(join(dataDir, entry.name));
  }
  return files;
}

function readOfficialLists(dataDir: string): OfficialSplitLists | undefined {
  const testPath = join(dataDir, 'test_list.txt');
  const trainValPath = join(dataDir, 'train_val_list.txt');
  if (!existsSync(testPath) || !existsSync(trainValPath)) return undefined;
  const names = readFileSync(testPath, 'utf8').split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  return { test: new Set(names) };
}

export function findCsv(dataDir: string): string {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) throw new BadInputFileError(dataDir, 'data directory not found');
  for (const name of csvFileNames) {
    const path = join(dataDir, name);
    if (existsSync(path)) return path;
  }
  throw new BadInputFileError(join(dataDir, csvFileNames[0]!), 'file not found (a ChestX-ray8 directory holds Data_Entry_2017.csv and images*/ folders)');
}

/** Chooses the images for the three classes, capped per class, each with its patient-wise split. */
export function selectDataset(dataDir: string, options: SelectOptions = {}): DatasetSelection {
  const limitPerClass = options.limitPerClass ?? defaultLimitPerClass;
  const seed = options.seed ?? 0;
  const csvPath = findCsv(dataDir);
  const table = readCsvTable(csvPath, requiredColumns);
  const imageColumn = table.columns.get('Image Index')!;
  const findingsColumn = table.columns.get('Finding Labels')!;
  const patientColumn = table.columns.get('Patient ID')!;
  const followUpColumn = table.columns.get('Follow-up #');
  const files = findImageFiles(dataDir);

  const candidates: DatasetEntry[][] = labelIds.map(() => []);
  const rowsInClasses = labelIds.map(() => 0);
  const skipped: SkippedFile[] = [];
  const seen = new Set<string>();
  for (const row of table.rows) {
    const imageIndex = (row[imageColumn] ?? '').trim();
    const label = labelFromFindings(row[findingsColumn] ?? '');
    if (label === undefined || imageIndex === '' || seen.has(imageIndex)) continue;
    seen.add(imageIndex);
    rowsInClasses[label]!++;
    const path = files.get(imageIndex);
    if (path === undefined) {
      skipped.push({ file: imageIndex, reason: 'file not found under images*/' });
      continue;
    }
    const patientId = (row[patientColumn] ?? '').trim() || imageIndex.split('_')[0]!;
    const followUp = followUpColumn === undefined ? 0 : Number.parseInt(row[followUpColumn] ?? '0', 10) || 0;
    candidates[label]!.push({ imageIndex, label, patientId, followUp, path, split: 'train' });
  }

  // the cap keeps a seeded pseudo-random subset, so a prefix of the CSV does not bias the selection
  const entries: DatasetEntry[] = [];
  for (const classEntries of candidates) {
    const ranked = classEntries
      .map((entry) => ({ entry, rank: hashKeys(seed, hashString(entry.imageIndex)) }))
      .sort((a, b) => a.rank - b.rank || a.entry.imageIndex.localeCompare(b.entry.imageIndex));
    entries.push(...ranked.slice(0, limitPerClass).map((item) => item.entry));
  }
  entries.sort((a, b) => a.imageIndex.localeCompare(b.imageIndex));

  const official = options.useOfficialSplit === false ? undefined : readOfficialLists(dataDir);
  const splits = splitByPatient(entries, seed, options.fractions ?? defaultSplitFractions, official);
  entries.forEach((entry, index) => {
    entry.split = splits[index]!;
  });
  return { dataDir, csvPath, entries, skipped, rowsRead: table.rows.length, rowsInClasses, officialSplit: official !== undefined };
}
