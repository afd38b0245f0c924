// Node file access for safetensors checkpoints: a reader that validates the header before reading (or allocating
// for) the data, and an atomic writer, so a crash mid-save never leaves a half-written checkpoint behind.
import { randomUUID } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BadInputFileError } from '../errors.ts';
import {
  attachData, planSafetensors, readHeaderByteLength, validateHeader,
  type SafetensorsFile, type SafetensorsInput, type SerializeOptions,
} from './safetensors.ts';

/** Turns the usual "cannot open" failures into one-line user errors; anything else is a real fault and propagates. */
function openError(path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new BadInputFileError(path, 'no such file');
  if (code === 'EACCES' || code === 'EPERM') return new BadInputFileError(path, 'permission denied');
  if (code === 'EISDIR') return new BadInputFileError(path, 'is a directory');
  return error;
}

async function readExactly(handle: FileHandle, position: number, length: number, path: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(bytes, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new BadInputFileError(path, 'file shrank while being read');
    filled += bytesRead;
  }
  return bytes;
}

/**
 * Reads and validates a checkpoint. Allocation is bounded by the file's size: the header length is checked against
 * the size first, and the data section is read only after the whole header has been validated.
 */
export async function readSafetensorsFile(path: string): Promise<SafetensorsFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw openError(path, error);
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw new BadInputFileError(path, 'is a directory');
    if (!stats.isFile()) throw new BadInputFileError(path, 'is not a regular file');
    const fileByteLength = stats.size;
    const prefix = await readExactly(handle, 0, Math.min(8, fileByteLength), path);
    const headerByteLength = readHeaderByteLength(prefix, fileByteLength, path);
    const dataStart = 8 + headerByteLength;
    const header = validateHeader(await readExactly(handle, 8, headerByteLength, path), fileByteLength - dataStart, path);
    const data = await readExactly(handle, dataStart, fileByteLength - dataStart, path);
    return attachData(header, data, path);
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, position + written);
    written += bytesWritten;
  }
}

/** Makes the rename itself durable; some platforms cannot open or sync a directory, and there it is best effort. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // The data is already synced; only the rename's durability is at stake.
  }
}

/**
 * Writes `chunks` to a temporary file beside `path`, syncs it and renames it over `path`. If anything throws
 * (including the chunk generator), the temporary file is removed and an existing file at `path` is untouched.
 */
export async function writeFileAtomic(path: string, chunks: Iterable<Uint8Array>): Promise<void> {
  // Same directory, so the rename stays on one filesystem and is atomic; a leading dot keeps it out of globs.
  const temporaryPath = join(dirname(path), `.${basename(path)}.${process.pid}.${randomUUID()}.tmp`);
  const handle = await open(temporaryPath, 'wx');
  let renamed = false;
  try {
    try {
      let position = 0;
      for (const chunk of chunks) {
        await writeAll(handle, chunk, position);
        position += chunk.length;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporaryPath, path);
    renamed = true;
  } finally {
    if (!renamed) await rm(temporaryPath, { force: true });
  }
  await syncDirectory(dirname(path));
}

/** Serializes (see `planSafetensors`) and writes atomically; tensors are encoded one at a time, not all in memory. */
export async function writeSafetensorsFileAtomic(
  path: string, tensors: readonly SafetensorsInput[], metadata: Record<string, string> = {}, options: SerializeOptions = {},
): Promise<void> {
  const plan = planSafetensors(tensors, metadata, options);
  await writeFileAtomic(path, plan.chunks());
}
