// Which model config a weights file was trained with: pure and browser-safe, so the CLI (Node) and
// the web embedding (fetch) resolve configs from the same safetensors reader in the same way.

import { BadInputFileError } from '../../engine/errors.ts';
import type { SafetensorsFile } from '../../engine/io/safetensors.ts';
import { shapeString } from '../../engine/tensor.ts';
import type { TensorSpec } from '../../models/module.ts';

/** A parsed weights file and where it came from (a path in Node, a URL in a browser). */
export interface ParsedWeights {
  path: string;
  file: SafetensorsFile;
}

/**
 * The config the weights were saved with (metadata `config`), else the first preset whose tensor
 * shapes all match; a file that fits none is an error naming the first mismatching tensors.
 */
export function configFor<C>(weights: ParsedWeights, presets: Record<string, C>, specs: (config: C) => TensorSpec[], prefix: string, what: string): C {
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
