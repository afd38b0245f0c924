// The cache's shard file: a versioned 64-byte header, then labels, splits, LR planes, HR planes and a
// JSON tail (ids, files skipped), all covered by a CRC-32 so a damaged or half-written shard is never used.
//
// header (little-endian): magic "XRGSHARD" | u32 version | u32 count | u32 lrSize | u32 hrSize |
//                         u32 metadataBytes | u32 crc32(body) | 32 reserved zero bytes
// body: u8 labels[count] | u8 splits[count] | u8 lr[count][lrSize][lrSize] | u8 hr[count][hrSize][hrSize] | metadata JSON

import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { BadInputFileError } from '../../engine/errors.ts';
import { crc32 } from './checksum.ts';
import type { SkippedFile } from './loader.ts';

export const shardMagic = 'XRGSHARD';
export const shardVersion = 1;
export const shardHeaderBytes = 64;

export interface ShardMetadata {
  ids: string[];
  skipped: SkippedFile[];
}

export interface ShardContents {
  lrSize: number;
  hrSize: number;
  labels: Uint8Array;
  splits: Uint8Array;
  /** count * lrSize * lrSize */
  lr: Uint8Array;
  /** count * hrSize * hrSize */
  hr: Uint8Array;
  metadata: ShardMetadata;
}

export interface ShardHeader {
  version: number;
  count: number;
  lrSize: number;
  hrSize: number;
  metadataBytes: number;
  checksum: number;
}

/** Byte offsets of each section, from the start of the file. */
export function shardLayout(header: Pick<ShardHeader, 'count' | 'lrSize' | 'hrSize' | 'metadataBytes'>) {
  const labels = shardHeaderBytes;
  const splits = labels + header.count;
  const lr = splits + header.count;
  const hr = lr + header.count * header.lrSize * header.lrSize;
  const metadata = hr + header.count * header.hrSize * header.hrSize;
  return { labels, splits, lr, hr, metadata, end: metadata + header.metadataBytes };
}

/** Serialises a shard into one buffer (header with checksum first). */
export function encodeShard(contents: ShardContents): Buffer {
  const metadata = Buffer.from(JSON.stringify(contents.metadata), 'utf8');
  const count = contents.labels.length;
  const layout = shardLayout({ count, lrSize: contents.lrSize, hrSize: contents.hrSize, metadataBytes: metadata.length });
  const buffer = Buffer.alloc(layout.end);
  buffer.set(contents.labels, layout.labels);
  buffer.set(contents.splits, layout.splits);
  buffer.set(contents.lr, layout.lr);
  buffer.set(contents.hr, layout.hr);
  buffer.set(metadata, layout.metadata);
  buffer.write(shardMagic, 0, 'latin1');
  const fields = [shardVersion, count, contents.lrSize, contents.hrSize, metadata.length, crc32(buffer.subarray(shardHeaderBytes))];
  fields.forEach((value, index) => buffer.writeUInt32LE(value, 8 + 4 * index));
  return buffer;
}

/** Reads and checks the header; throws BadInputFileError for a foreign, old or truncated file. */
export function parseShardHeader(bytes: Uint8Array, fileSize: number, file: string): ShardHeader {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length < shardHeaderBytes || view.toString('latin1', 0, 8) !== shardMagic) throw new BadInputFileError(file, 'not a cache shard (bad magic)');
  const [version, count, lrSize, hrSize, metadataBytes, checksum] = [0, 1, 2, 3, 4, 5].map((index) => view.readUInt32LE(8 + 4 * index)) as [number, number, number, number, number, number];
  if (version !== shardVersion) throw new BadInputFileError(file, `shard format version ${version}, this build reads ${shardVersion}`);
  const header = { version, count, lrSize, hrSize, metadataBytes, checksum };
  const expectedSize = shardLayout(header).end;
  if (fileSize !== expectedSize) throw new BadInputFileError(file, `truncated shard (${fileSize} bytes, expected ${expectedSize})`);
  return header;
}

/** Reads a whole shard and checks it: header, size and (optionally) the checksum. */
export function readShard(file: string, verifyChecksum = true): { header: ShardHeader; bytes: Buffer; metadata: ShardMetadata } {
  const descriptor = openSync(file, 'r');
  try {
    const size = fstatSync(descriptor).size;
    const bytes = Buffer.alloc(size);
    let offset = 0;
    while (offset < size) {
      const read = readSync(descriptor, bytes, offset, size - offset, offset);
      if (read === 0) break;
      offset += read;
    }
    const header = parseShardHeader(bytes, offset, file);
    if (verifyChecksum && crc32(bytes.subarray(shardHeaderBytes)) !== header.checksum) throw new BadInputFileError(file, 'shard checksum mismatch (damaged file)');
    const layout = shardLayout(header);
    const metadata = JSON.parse(bytes.toString('utf8', layout.metadata, layout.end)) as ShardMetadata;
    if (metadata.ids.length !== header.count) throw new BadInputFileError(file, `shard lists ${metadata.ids.length} ids for ${header.count} images`);
    return { header, bytes, metadata };
  } finally {
    closeSync(descriptor);
  }
}

/** True when the file is a complete, checksum-valid shard. */
export function isValidShard(file: string): boolean {
  try {
    readShard(file, true);
    return true;
  } catch {
    return false;
  }
}
