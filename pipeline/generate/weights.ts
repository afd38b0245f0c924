// Finds, reads and checks generation weights: a run folder or a .safetensors file (default: the
// shipped models/weights/), the model config they were trained with, and their SHA-256.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BadInputFileError } from '../../engine/errors.ts';
import { parseSafetensors, type SafetensorsFile } from '../../engine/io/safetensors.ts';
import { shapeString } from '../../engine/tensor.ts';
import type { TensorSpec } from '../../models/module.ts';

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

/**
 * The config the weights were saved with (metadata `config`), else the first preset whose tensor
 * shapes all match; a file that fits none is an error naming the first mismatching tensors.
 */
export function configFor<C>(weights: LoadedWeights, presets: Record<string, C>, specs: (config: C) => TensorSpec[], prefix: string, what: string): C {
  const fromMetadata = weights.file.metadata.config;
  const candidates: C[] = [];
  if (fromMetadata) {
    try {
      candidates.push(JSON.parse(fromMetadata) as C);
    } catch {
      throw new BadInputFileError(weights.path, 'metadata "config" is not JSON');
    }
  }
  candidates.push(...Object.values(presets));
  let firstProblems: string[] | null = null;
  for (const candidate of candidates) {
    let expected: TensorSpec[];
    try {
      expected = specs(candidate);
    } catch {
      continue; // metadata of another model's config
    }
    const problems: string[] = [];
    for (const spec of expected) {
      const entry = weights.file.tensors.get(`${prefix}.${spec.name}`);
      if (!entry) problems.push(`${prefix}.${spec.name} missing`);
      else if (shapeString(entry.shape) !== shapeString(spec.shape)) problems.push(`${prefix}.${spec.name} is ${shapeString(entry.shape)}, want ${shapeString(spec.shape)}`);
      if (problems.length >= 3) break;
    }
    if (problems.length === 0) return candidate;
    firstProblems ??= problems;
  }
  throw new BadInputFileError(weights.path, `not ${what} weights: ${(firstProblems ?? ['no usable config']).join('; ')}`);
}
