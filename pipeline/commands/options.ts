// Parsing helpers for the data commands' flags: integers with ranges, reported as UsageError (exit 2).

import { UsageError } from '../../engine/errors.ts';

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
