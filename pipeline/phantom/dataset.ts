// Writes a synthetic data set in the ChestX-ray8 layout: Data_Entry_2017.csv with all its columns,
// images_NNN/images/*.png (1024x1024 8-bit grey), train_val_list.txt and test_list.txt. Patients have
// several follow-ups; a few multi-label and unrelated rows are included for the loader to filter out.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../engine/errors.ts';
import { findingNames, labelIds, type LabelId } from '../data/labels.ts';
import { startProgress } from '../data/progress.ts';
import { chestXray8CsvHeader } from '../data/csv.ts';
import { RandomStream, shuffled } from '../../engine/host-random.ts';
import { defaultWorkerCount, WorkerPool } from '../data/worker-pool.ts';
import { findingsOfLabel, samplePatientBuild, type PhantomFindings } from './anatomy.ts';
import { renderToFile, type RenderJob } from './render-job.ts';
import { phantomSize } from './render.ts';


/** Rows that are not exactly one class; the loader must leave them out. */
const otherFindings = ['Mass|Pneumonia', 'Effusion', 'Cardiomegaly', 'Infiltration|Pneumonia', 'Mass|Nodule', 'Atelectasis', 'Nodule'];

export interface PhantomOptions {
  outDir: string;
  /** images of the three classes (balanced); a few extra filtered rows are added on top */
  count: number;
  seed?: number;
  workers?: number;
  /** image side (default 1024, the ChestX-ray8 size); tests use smaller */
  size?: number;
  imagesPerFolder?: number;
  plainProgress?: boolean;
  quiet?: boolean;
  log?: (line: string) => void;
}

export interface PhantomRow {
  imageIndex: string;
  findingLabels: string;
  followUp: number;
  patientId: number;
  folder: string;
}

export interface PhantomSummary {
  outDir: string;
  rows: PhantomRow[];
  perClass: number[];
  extraRows: number;
  patients: number;
  seconds: number;
}

function findingsOfRow(findingLabels: string): PhantomFindings {
  const label = findingNames.indexOf(findingLabels as (typeof findingNames)[number]);
  if (label >= 0) return findingsOfLabel(label as LabelId);
  return { mass: findingLabels.includes('Mass'), pneumonia: findingLabels.includes('Pneumonia') };
}

/** Decides every row: class balance, extra rows, patients with 1-4 follow-ups, folders. */
export function planPhantomRows(count: number, seed: number, imagesPerFolder = 250): PhantomRow[] {
  const random = new RandomStream(seed, 0x9a7e);
  const extras = Math.max(3, Math.round(count * 0.04));
  const findings = [
    ...Array.from({ length: count }, (_, index) => findingNames[labelIds[index % 3]!]),
    ...Array.from({ length: extras }, (_, index) => otherFindings[index % otherFindings.length]!),
  ];
  const order = shuffled(findings, seed, 0x0dde);
  const rows: PhantomRow[] = [];
  let patientId = 0;
  for (let cursor = 0; cursor < order.length; ) {
    patientId++;
    const draw = random.next();
    const followUps = draw < 0.45 ? 1 : draw < 0.75 ? 2 : draw < 0.92 ? 3 : 4;
    for (let followUp = 0; followUp < followUps && cursor < order.length; followUp++, cursor++) {
      const imageIndex = `${String(patientId).padStart(8, '0')}_${String(followUp).padStart(3, '0')}.png`;
      const folder = `images_${String(Math.floor(rows.length / imagesPerFolder) + 1).padStart(3, '0')}`;
      rows.push({ imageIndex, findingLabels: order[cursor]!, followUp, patientId, folder });
    }
  }
  return rows;
}

function csvText(rows: PhantomRow[], seed: number): string {
  const lines = [chestXray8CsvHeader];
  rows.forEach((row, rowNumber) => {
    const random = new RandomStream(seed, 0xc5700000 + row.patientId);
    const build = samplePatientBuild(seed, row.patientId);
    const age = random.integer(18, 88) + Math.floor(row.followUp / 2);
    const view = new RandomStream(seed, 0xa1e00000 + rowNumber).chance(0.8) ? 'PA' : 'AP';
    const width = 2000 + 8 * random.integer(0, 110);
    const height = 2000 + 8 * random.integer(0, 110);
    const spacing = (0.139 + 0.004 * random.integer(0, 3)).toFixed(3);
    lines.push([row.imageIndex, row.findingLabels, row.followUp, row.patientId, age, build.female ? 'F' : 'M', view, width, height, spacing, spacing].join(','));
  });
  return `${lines.join('\n')}\n`;
}

/** Writes the whole phantom data set; deterministic from (count, seed). */
export async function writePhantomDataset(options: PhantomOptions): Promise<PhantomSummary> {
  const began = Date.now();
  const seed = options.seed ?? 0;
  const size = options.size ?? phantomSize;
  if (!(Number.isInteger(options.count) && options.count > 0)) throw new UsageError(`--count must be a positive integer, got ${options.count}`);
  if (!(Number.isInteger(size) && size >= 16)) throw new UsageError(`image size must be an integer >= 16, got ${size}`);
  const rows = planPhantomRows(options.count, seed, options.imagesPerFolder);
  mkdirSync(options.outDir, { recursive: true });
  for (const folder of new Set(rows.map((row) => row.folder))) mkdirSync(join(options.outDir, folder, 'images'), { recursive: true });
  writeFileSync(join(options.outDir, 'Data_Entry_2017.csv'), csvText(rows, seed));
  // the official lists are patient-wise: about a fifth of the patients are test patients
  const isTest = (patientId: number): boolean => new RandomStream(seed, 0x7e570000 + patientId).chance(0.2);
  writeFileSync(join(options.outDir, 'test_list.txt'), rows.filter((row) => isTest(row.patientId)).map((row) => `${row.imageIndex}\n`).join(''));
  writeFileSync(join(options.outDir, 'train_val_list.txt'), rows.filter((row) => !isTest(row.patientId)).map((row) => `${row.imageIndex}\n`).join(''));

  const log = options.log ?? ((line: string) => console.log(line));
  const pool = new WorkerPool<RenderJob, null>(new URL('./render-worker.ts', import.meta.url), options.workers ?? defaultWorkerCount(), renderToFile);
  const progress = startProgress('phantom', { unit: 'images', total: rows.length, plain: options.plainProgress, quiet: options.quiet, log });
  try {
    await Promise.all(
      rows.map((row, image) =>
        pool
          .run({ seed, patient: row.patientId, image, findings: findingsOfRow(row.findingLabels), path: join(options.outDir, row.folder, 'images', row.imageIndex), size })
          .then(() => progress.increment()),
      ),
    );
  } finally {
    progress.stop();
    await pool.close();
  }
  const perClass = labelIds.map((label) => rows.filter((row) => row.findingLabels === findingNames[label]).length);
  return { outDir: options.outDir, rows, perClass, extraRows: rows.length - options.count, patients: new Set(rows.map((row) => row.patientId)).size, seconds: (Date.now() - began) / 1000 };
}
