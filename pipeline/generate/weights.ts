// Finds, reads and checks generation weights: a run folder or a .safetensors file (default: the
// shipped models/weights/), the model config they were trained with, and their SHA-256.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BadInputFileError } from '../../engine/errors.ts';
import { parseSafetensors, type SafetensorsFile } from '../../engine/io/safetensors.ts';

export { configFor } from './weights-config.ts';

export const DEFAULT_CGAN_WEIGHTS = fileURLToPath(new URL('../../models/weights/cgan.safetensors', import.meta.url));
export const DEFAULT_SRGAN_WEIGHTS = fileURLToPath(new URL('../../models/weights/srgan.safetensors', import.meta.url));

export interface LoadedWeights {
  path: string;
  sha256: string;
  file: SafetensorsFile;
}

/** A run folder means its weights.safetensors. */
export function resolveWeightsPath(path: string): string {
  if (existsSync(path) && statSync(path).isDirectory()) return join(path, 'weights.safetensors');
  return path;
}

export function readWeights(path: string): LoadedWeights {
  const resolved = resolveWeightsPath(path);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(resolved);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BadInputFileError(resolved, code === 'ENOENT' ? 'no such weights file' : `cannot read (${code})`);
  }
  return { path: resolved, sha256: createHash('sha256').update(bytes).digest('hex'), file: parseSafetensors(bytes, resolved) };
}
