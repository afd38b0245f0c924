// `prepare`: selects the images, preprocesses each once and writes checksummed shards plus a manifest.
// Shards are written to a temporary name and renamed, so an interrupted run leaves only whole shards
// behind and the next run with the same options resumes after them.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BadInputFileError, UsageError } from '../../engine/errors.ts';
import { cacheFormat, cacheVersion, manifestFileName, planFileName, type CacheManifest } from './cache.ts';
import { findingNames, labelIds, type LabelId } from './labels.ts';
import { findCsv, selectDataset, type DatasetSelection, type SkippedFile } from './loader.ts';
import { writeGreyPng } from './png.ts';
import { preprocessFile, type PreprocessJob, type PreprocessResult } from './preprocess-job.ts';
import { hrSize, lrSize } from './preprocess.ts';
import { encodeShard, readShard, shardLayout, type ShardMetadata } from './shard.ts';
import { splitCodes, splitNames, type Split, type SplitFractions } from './split.ts';
import { startProgress } from './progress.ts';
import { defaultWorkerCount, WorkerPool } from './worker-pool.ts';

export const defaultShardSize = 256;

export interface PrepareOptions {
  dataDir: string;
  outDir: string;
  /** also write pngDir/hr/<Image Index> (512) and pngDir/lr/<Image Index> (128) */
  pngDir?: string;
  limitPerClass?: number;
  /** worker threads; 0 runs on the calling thread (default: one per core) */
  workers?: number;
  seed?: number;
  fractions?: SplitFractions;
  useOfficialSplit?: boolean;
  shardSize?: number;
  /** plain progress lines even on a terminal */
  plainProgress?: boolean;
  quiet?: boolean;
  log?: (line: string) => void;
  /** called after each shard is safely on disk (tests throw here to simulate a crash) */
  afterShard?: (shardIndex: number) => void;
}

export interface PrepareSummary {
  outDir: string;
  count: number;
  perClass: number[];
  perSplit: Record<Split, number[]>;
  skipped: SkippedFile[];
  shardsBuilt: number;
  shardsReused: number;
  seconds: number;
  manifest: CacheManifest;
}

interface PlanEntry {
  imageIndex: string;
  label: LabelId;
  split: Split;
  path: string;
}

interface Plan {
  format: typeof cacheFormat;
  version: number;
  options: Record<string, unknown>;
  selection: Omit<DatasetSelection, 'entries'>;
  entries: PlanEntry[];
}

/** Writes a file under a temporary name and renames it, so readers never see half of it. */
function writeAtomically(path: string, contents: string | Uint8Array): void {
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

function shardFileName(index: number): string {
  return `shard-${String(index).padStart(5, '0')}.bin`;
}

/** The plan fixes which images go into which shard; a resumed run must use the same one. */
function loadOrCreatePlan(options: PrepareOptions, planOptions: Record<string, unknown>): Plan {
  const path = join(options.outDir, planFileName);
  if (existsSync(path)) {
    const plan = JSON.parse(readFileSync(path, 'utf8')) as Plan;
    if (JSON.stringify(plan.options) !== JSON.stringify(planOptions) || plan.version !== cacheVersion) {
      throw new UsageError(`${options.outDir} holds a cache prepared with other options (${JSON.stringify(plan.options)}); delete it or choose another --out`);
    }
    return plan;
  }
  const { entries, ...selection } = selectDataset(options.dataDir, {
    limitPerClass: options.limitPerClass,
    seed: options.seed,
    fractions: options.fractions,
    useOfficialSplit: options.useOfficialSplit,
  });
  const plan: Plan = {
    format: cacheFormat,
    version: cacheVersion,
    options: planOptions,
    selection,
    entries: entries.map(({ imageIndex, label, split, path: file }) => ({ imageIndex, label, split, path: file })),
  };
  writeAtomically(path, JSON.stringify(plan));
  return plan;
}

/** Writes the PNG exports of an already-built shard that are not on disk yet (a resumed --write-png). */
function exportShardPngs(shardFile: string, pngDir: string): void {
  const { header, bytes, metadata } = readShard(shardFile, false);
  const layout = shardLayout(header);
  metadata.ids.forEach((id, position) => {
    const hrPath = join(pngDir, 'hr', id);
    const lrPath = join(pngDir, 'lr', id);
    const hrStart = layout.hr + position * hrSize * hrSize;
    const lrStart = layout.lr + position * lrSize * lrSize;
    if (!existsSync(hrPath)) writeGreyPng(hrPath, { width: hrSize, height: hrSize, data: bytes.subarray(hrStart, hrStart + hrSize * hrSize) });
    if (!existsSync(lrPath)) writeGreyPng(lrPath, { width: lrSize, height: lrSize, data: bytes.subarray(lrStart, lrStart + lrSize * lrSize) });
  });
}

type Outcome = { result: PreprocessResult } | { skipped: SkippedFile };

async function buildShard(entries: PlanEntry[], outcomes: Array<Promise<Outcome>>, file: string): Promise<ShardMetadata> {
  const labels: number[] = [];
  const splits: number[] = [];
  const lrParts: Uint8Array[] = [];
  const hrParts: Uint8Array[] = [];
  const metadata: ShardMetadata = { ids: [], skipped: [] };
  for (let position = 0; position < entries.length; position++) {
    const outcome = await outcomes[position]!;
    const entry = entries[position]!;
    if ('skipped' in outcome) {
      metadata.skipped.push(outcome.skipped);
      continue;
    }
    labels.push(entry.label);
    splits.push(splitCodes[entry.split]);
    lrParts.push(outcome.result.lr);
    hrParts.push(outcome.result.hr);
    metadata.ids.push(entry.imageIndex);
  }
  const concatenate = (parts: Uint8Array[], size: number): Uint8Array => {
    const joined = new Uint8Array(parts.length * size);
    parts.forEach((part, index) => joined.set(part, index * size));
    return joined;
  };
  const shard = encodeShard({
    lrSize,
    hrSize,
    labels: Uint8Array.from(labels),
    splits: Uint8Array.from(splits),
    lr: concatenate(lrParts, lrSize * lrSize),
    hr: concatenate(hrParts, hrSize * hrSize),
    metadata,
  });
  writeAtomically(file, shard);
  return metadata;
}

/** Runs (or resumes) a prepare into options.outDir and returns what was done. */
export async function prepareCache(options: PrepareOptions): Promise<PrepareSummary> {
  const began = Date.now();
  const shardSize = options.shardSize ?? defaultShardSize;
  if (!(Number.isInteger(shardSize) && shardSize > 0)) throw new UsageError(`shard size must be a positive integer, got ${shardSize}`);
  const planOptions = {
    dataDir: resolve(options.dataDir),
    limitPerClass: options.limitPerClass ?? null,
    seed: options.seed ?? 0,
    fractions: options.fractions ?? null,
    useOfficialSplit: options.useOfficialSplit ?? true,
    shardSize,
  };
  // a bad --data fails before anything is created under --out
  if (!existsSync(join(options.outDir, planFileName))) findCsv(options.dataDir);
  mkdirSync(options.outDir, { recursive: true });
  for (const name of readdirSync(options.outDir)) if (name.endsWith('.tmp')) rmSync(join(options.outDir, name));
  if (options.pngDir !== undefined) for (const kind of ['hr', 'lr']) mkdirSync(join(options.pngDir, kind), { recursive: true });
  const plan = loadOrCreatePlan(options, planOptions);
  const log = options.log ?? ((line: string) => console.log(line));

  const shardEntries: PlanEntry[][] = [];
  for (let start = 0; start < plan.entries.length; start += shardSize) shardEntries.push(plan.entries.slice(start, start + shardSize));
  const isBuilt = shardEntries.map((_, index) => {
    const file = join(options.outDir, shardFileName(index));
    if (!existsSync(file)) return false;
    try {
      readShard(file, true);
      return true;
    } catch {
      return false;
    }
  });
  const reusedImages = shardEntries.reduce((sum, entries, index) => sum + (isBuilt[index] ? entries.length : 0), 0);
  if (!options.quiet && reusedImages > 0) log(`prepare: resuming, ${isBuilt.filter(Boolean).length} of ${shardEntries.length} shards already done`);

  const workers = options.workers ?? defaultWorkerCount();
  const pool = new WorkerPool<PreprocessJob, PreprocessResult>(new URL('./preprocess-worker.ts', import.meta.url), workers, preprocessFile);
  const progress = startProgress('prepare', { unit: 'images', total: plan.entries.length, start: reusedImages, plain: options.plainProgress, quiet: options.quiet, log });
  const submit = (entries: PlanEntry[]): Array<Promise<Outcome>> =>
    entries.map((entry) =>
      pool.run({ path: entry.path, imageIndex: entry.imageIndex, pngDir: options.pngDir }).then(
        (result): Outcome => (progress.increment(), { result }),
        (error: unknown): Outcome => {
          progress.increment();
          const reason = error instanceof BadInputFileError ? error.reason : (error as Error).message;
          return { skipped: { file: entry.imageIndex, reason } };
        },
      ),
    );

  const pendingIndices = shardEntries.map((_, index) => index).filter((index) => !isBuilt[index]);
  let shardsBuilt = 0;
  try {
    // one shard of look-ahead keeps the workers busy while the main thread writes
    let nextOutcomes = pendingIndices.length > 0 ? submit(shardEntries[pendingIndices[0]!]!) : [];
    for (let position = 0; position < pendingIndices.length; position++) {
      const index = pendingIndices[position]!;
      const outcomes = nextOutcomes;
      nextOutcomes = position + 1 < pendingIndices.length ? submit(shardEntries[pendingIndices[position + 1]!]!) : [];
      await buildShard(shardEntries[index]!, outcomes, join(options.outDir, shardFileName(index)));
      shardsBuilt++;
      options.afterShard?.(index);
    }
  } finally {
    progress.stop();
    await pool.close();
  }

  // the manifest is assembled from the shards themselves, so reused and new shards count alike
  const perClass = labelIds.map(() => 0);
  const perSplit = Object.fromEntries(splitNames.map((split) => [split, labelIds.map(() => 0)])) as Record<Split, number[]>;
  const skipped: SkippedFile[] = [...plan.selection.skipped];
  const shards: CacheManifest['shards'] = [];
  for (let index = 0; index < shardEntries.length; index++) {
    const file = shardFileName(index);
    if (options.pngDir !== undefined && isBuilt[index]) exportShardPngs(join(options.outDir, file), options.pngDir);
    const { header, bytes, metadata } = readShard(join(options.outDir, file), false);
    const layout = shardLayout(header);
    for (let position = 0; position < header.count; position++) {
      const label = bytes[layout.labels + position]!;
      perClass[label]!++;
      perSplit[splitNames[bytes[layout.splits + position]!]!]![label]!++;
    }
    skipped.push(...metadata.skipped);
    shards.push({ file, count: header.count, checksum: header.checksum });
  }
  const manifest: CacheManifest = {
    format: cacheFormat,
    version: cacheVersion,
    lrSize,
    hrSize,
    count: shards.reduce((sum, shard) => sum + shard.count, 0),
    shards,
    perClass,
    perSplit,
    skipped,
    source: {
      dataDir: plan.selection.dataDir,
      csvPath: plan.selection.csvPath,
      rowsRead: plan.selection.rowsRead,
      rowsInClasses: plan.selection.rowsInClasses,
      officialSplit: plan.selection.officialSplit,
    },
    options: planOptions,
    createdAt: new Date().toISOString(),
  };
  writeAtomically(join(options.outDir, manifestFileName), JSON.stringify(manifest, null, 1));
  return { outDir: options.outDir, count: manifest.count, perClass, perSplit, skipped, shardsBuilt, shardsReused: isBuilt.filter(Boolean).length, seconds: (Date.now() - began) / 1000, manifest };
}

/** The end-of-run summary as lines: per class and split counts, then skipped files. */
export function formatPrepareSummary(summary: PrepareSummary, maxSkippedShown = 20): string[] {
  const lines = [`prepared ${summary.count} images into ${summary.outDir} in ${summary.seconds.toFixed(1)} s (${summary.shardsBuilt} shards built, ${summary.shardsReused} reused)`];
  for (const label of labelIds) {
    const bySplit = splitNames.map((split) => `${split} ${summary.perSplit[split][label]}`).join(', ');
    lines.push(`  ${findingNames[label].padEnd(11)} ${String(summary.perClass[label]).padStart(6)}  (${bySplit})`);
  }
  if (summary.skipped.length === 0) lines.push('  skipped: none');
  else {
    lines.push(`  skipped: ${summary.skipped.length} file${summary.skipped.length === 1 ? '' : 's'}`);
    for (const item of summary.skipped.slice(0, maxSkippedShown)) lines.push(`    ${item.file}: ${item.reason}`);
    if (summary.skipped.length > maxSkippedShown) lines.push(`    ... and ${summary.skipped.length - maxSkippedShown} more (listed in manifest.json)`);
  }
  return lines;
}
