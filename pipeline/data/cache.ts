// Reading a prepared cache: manifest.json plus checksummed shards. LR planes are loaded into memory
// (16 KiB each); HR planes (256 KiB each) are read from the shard on demand unless `loadHr` is set.

import { closeSync, existsSync, fstatSync, openSync, read, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputFileError } from '../../engine/errors.ts';
import type { LabelId } from './labels.ts';
import type { SkippedFile } from './loader.ts';
import { parseShardHeader, readShard, shardHeaderBytes, shardLayout, type ShardHeader, type ShardMetadata } from './shard.ts';
import { splitNames, type Split } from './split.ts';

export const cacheFormat = 'xraygen-cache';
export const cacheVersion = 1;
export const manifestFileName = 'manifest.json';
export const planFileName = 'plan.json';

export interface CacheManifest {
  format: typeof cacheFormat;
  version: number;
  lrSize: number;
  hrSize: number;
  count: number;
  shards: Array<{ file: string; count: number; checksum: number }>;
  /** images per class id */
  perClass: number[];
  /** images per class id, per split */
  perSplit: Record<Split, number[]>;
  skipped: SkippedFile[];
  source: { dataDir: string; csvPath: string; rowsRead: number; rowsInClasses: number[]; officialSplit: boolean };
  options: Record<string, unknown>;
  createdAt: string;
}

export interface OpenCacheOptions {
  /** check every shard's CRC-32 while loading (default true; reads the HR planes once) */
  verify?: boolean;
  /** keep all HR planes in memory (fast random access; count * 256 KiB) */
  loadHr?: boolean;
}

export interface ImageCache {
  readonly dir: string;
  readonly manifest: CacheManifest;
  readonly count: number;
  readonly lrSize: number;
  readonly hrSize: number;
  /** class id per image */
  readonly labels: Uint8Array;
  /** split code per image (0 train, 1 val, 2 test; see splitCodes) */
  readonly splitCodes: Uint8Array;
  /** `Image Index` per image */
  readonly ids: readonly string[];
  label(index: number): LabelId;
  split(index: number): Split;
  id(index: number): string;
  /** indices of the images in a split, in cache order ('all' for every image) */
  indicesOf(split: Split | 'all'): number[];
  /** lrSize x lrSize uint8 view into the cache (do not modify) */
  lr(index: number): Uint8Array;
  /** hrSize x hrSize uint8; read into `target` when given */
  hr(index: number, target?: Uint8Array): Uint8Array;
  /** like hr(), but reading off the main thread, so a prefetcher can overlap it with other work */
  hrAsync(index: number, target?: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

function readManifest(dir: string): CacheManifest {
  const path = join(dir, manifestFileName);
  if (!existsSync(path)) {
    const reason = existsSync(join(dir, planFileName))
      ? 'cache is incomplete (prepare was interrupted); run prepare again with the same options to resume'
      : 'not a cache directory (no manifest.json); make one with `xraygen prepare`';
    throw new BadInputFileError(dir, reason);
  }
  let manifest: CacheManifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as CacheManifest;
  } catch (error) {
    throw new BadInputFileError(path, `unreadable manifest (${(error as Error).message})`);
  }
  if (manifest.format !== cacheFormat) throw new BadInputFileError(path, `not an xraygen cache manifest`);
  if (manifest.version !== cacheVersion) throw new BadInputFileError(path, `cache format version ${manifest.version}, this build reads ${cacheVersion}`);
  return manifest;
}

function readRange(descriptor: number, position: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let offset = 0;
  while (offset < length) {
    const count = readSync(descriptor, bytes, offset, length - offset, position + offset);
    if (count === 0) break;
    offset += count;
  }
  return bytes;
}

interface LoadedShard {
  descriptor: number;
  header: ShardHeader;
  labels: Uint8Array;
  splits: Uint8Array;
  lr: Uint8Array;
  hr?: Uint8Array;
  metadata: ShardMetadata;
}

function loadShard(file: string, expectedChecksum: number, verify: boolean, loadHr: boolean): LoadedShard {
  if (verify || loadHr) {
    const { header, bytes, metadata } = readShard(file, verify);
    if (header.checksum !== expectedChecksum) throw new BadInputFileError(file, 'shard does not match the manifest (checksum differs)');
    const layout = shardLayout(header);
    const descriptor = openSync(file, 'r');
    return {
      descriptor,
      header,
      metadata,
      labels: bytes.subarray(layout.labels, layout.splits),
      splits: bytes.subarray(layout.splits, layout.lr),
      lr: bytes.subarray(layout.lr, layout.hr),
      hr: loadHr ? bytes.subarray(layout.hr, layout.metadata) : undefined,
    };
  }
  const descriptor = openSync(file, 'r');
  const header = parseShardHeader(readRange(descriptor, 0, shardHeaderBytes), fstatSync(descriptor).size, file);
  if (header.checksum !== expectedChecksum) throw new BadInputFileError(file, 'shard does not match the manifest (checksum differs)');
  const layout = shardLayout(header);
  const front = readRange(descriptor, layout.labels, layout.hr - layout.labels);
  const metadata = JSON.parse(readRange(descriptor, layout.metadata, header.metadataBytes).toString('utf8')) as ShardMetadata;
  return {
    descriptor,
    header,
    metadata,
    labels: front.subarray(0, header.count),
    splits: front.subarray(header.count, 2 * header.count),
    lr: front.subarray(2 * header.count),
  };
}

/** Opens a cache written by prepareCache. Throws BadInputFileError for a missing, incomplete or damaged cache. */
export function openCache(dir: string, options: OpenCacheOptions = {}): ImageCache {
  const manifest = readManifest(dir);
  const { lrSize, hrSize, count } = manifest;
  const lrBytes = lrSize * lrSize;
  const hrBytes = hrSize * hrSize;
  const labels = new Uint8Array(count);
  const splitCodes = new Uint8Array(count);
  const lrPlanes = new Uint8Array(count * lrBytes);
  const ids: string[] = [];
  const shards: LoadedShard[] = [];
  // image index -> (shard, position in shard)
  const shardOf = new Int32Array(count);
  const positionInShard = new Int32Array(count);
  try {
    for (const entry of manifest.shards) {
      const shard = loadShard(join(dir, entry.file), entry.checksum, options.verify ?? true, options.loadHr ?? false);
      shards.push(shard);
      const base = ids.length;
      if (base + shard.header.count > count || shard.header.lrSize !== lrSize || shard.header.hrSize !== hrSize) {
        throw new BadInputFileError(join(dir, entry.file), 'shard does not match the manifest (count or sizes differ)');
      }
      labels.set(shard.labels, base);
      splitCodes.set(shard.splits, base);
      lrPlanes.set(shard.lr, base * lrBytes);
      for (let position = 0; position < shard.header.count; position++) {
        shardOf[base + position] = shards.length - 1;
        positionInShard[base + position] = position;
      }
      ids.push(...shard.metadata.ids);
      // the LR copy lives in lrPlanes now; drop the shard's own view unless HR is kept
      shard.lr = new Uint8Array(0);
    }
    if (ids.length !== count) throw new BadInputFileError(join(dir, manifestFileName), `manifest counts ${count} images, shards hold ${ids.length}`);
  } catch (error) {
    for (const shard of shards) closeSync(shard.descriptor);
    throw error;
  }

  const hrLocation = (index: number): { shard: LoadedShard; offset: number } => {
    if (!(index >= 0 && index < count)) throw new RangeError(`image ${index} out of range 0..${count - 1}`);
    const shard = shards[shardOf[index]!]!;
    return { shard, offset: positionInShard[index]! * hrBytes };
  };
  const indexLists = new Map<string, number[]>();

  return {
    dir,
    manifest,
    count,
    lrSize,
    hrSize,
    labels,
    splitCodes,
    ids,
    label: (index) => labels[index] as LabelId,
    split: (index) => splitNames[splitCodes[index]!]!,
    id: (index) => ids[index]!,
    indicesOf(split) {
      if (!indexLists.has(split)) {
        const code = split === 'all' ? -1 : splitNames.indexOf(split);
        indexLists.set(split, [...Array(count).keys()].filter((index) => code < 0 || splitCodes[index] === code));
      }
      return indexLists.get(split)!.slice();
    },
    lr: (index) => {
      if (!(index >= 0 && index < count)) throw new RangeError(`image ${index} out of range 0..${count - 1}`);
      return lrPlanes.subarray(index * lrBytes, (index + 1) * lrBytes);
    },
    hr(index, target) {
      const { shard, offset } = hrLocation(index);
      const output = target ?? new Uint8Array(hrBytes);
      if (shard.hr) output.set(shard.hr.subarray(offset, offset + hrBytes));
      else output.set(readRange(shard.descriptor, shardLayout(shard.header).hr + offset, hrBytes));
      return output;
    },
    hrAsync(index, target) {
      const { shard, offset } = hrLocation(index);
      const output = target ?? new Uint8Array(hrBytes);
      if (shard.hr) {
        output.set(shard.hr.subarray(offset, offset + hrBytes));
        return Promise.resolve(output);
      }
      return new Promise((resolve, reject) => {
        read(shard.descriptor, output, 0, hrBytes, shardLayout(shard.header).hr + offset, (error, bytesRead) => {
          if (error) reject(error);
          else if (bytesRead !== hrBytes) reject(new BadInputFileError(dir, `short read of image ${index}`));
          else resolve(output);
        });
      });
    },
    close() {
      for (const shard of shards.splice(0)) closeSync(shard.descriptor);
    },
  };
}

