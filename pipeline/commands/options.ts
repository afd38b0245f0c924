// Parsing helpers for the commands' flags (integers with ranges, enumerations), reported as UsageError (exit 2).

import { UsageError } from '../../engine/errors.ts';
import type { SavedActivationStorage } from '../../engine/runtime.ts';
import { parseBytes } from '../../engine/memory.ts';

/** `value` as an integer >= `minimum` (decimal digits only: no '1e3', no '2.0'), or null. */
export function integerAtLeast(value: string, minimum: number): number | null {
  const parsed = Number(value);
  return /^-?\d+$/.test(value.trim()) && Number.isSafeInteger(parsed) && parsed >= minimum ? parsed : null;
}

export function parseIntegerOption(flag: string, minimum: number): (value: string) => number {
  return (value: string) => {
    const parsed = integerAtLeast(value, minimum);
    if (parsed === null) throw new UsageError(`${flag} must be an integer >= ${minimum}, got '${value}'`);
    return parsed;
  };
}

/** `--saved-activations`: how training keeps activations for backward. */
export function parseSavedActivations(value: string): SavedActivationStorage {
  if (value !== 'f32' && value !== 'f16') throw new UsageError(`--saved-activations must be 'f32' or 'f16', got '${value}'`);
  return value;
}

/** `--vram`: a GPU memory budget in bytes ("4GiB", "500MiB"). */
export function parseVram(value: string): number {
  try {
    return parseBytes(value);
  } catch (error) {
    throw new UsageError(`--vram: ${(error as Error).message}`);
  }
}
