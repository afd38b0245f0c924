// Parsing helpers for the data commands' flags: integers with ranges, reported as UsageError (exit 2).

import { UsageError } from '../../engine/errors.ts';

export function parseIntegerOption(flag: string, minimum: number): (value: string) => number {
  return (value: string) => {
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < minimum) {
      throw new UsageError(`${flag} must be an integer >= ${minimum}, got '${value}'`);
    }
    return parsed;
  };
}
