// The three classes of ARCHITECTURE.md "Labels": id, the exact ChestX-ray8 `Finding Labels` value, CLI name.

import { UsageError } from '../../engine/errors.ts';

export type LabelId = 0 | 1 | 2;

export const labelIds: readonly LabelId[] = [0, 1, 2];
export const findingNames = ['No Finding', 'Mass', 'Pneumonia'] as const;
export const cliLabelNames = ['no-finding', 'mass', 'pneumonia'] as const;

/** The class of a `Finding Labels` cell, or undefined: a row belongs to a class only when the cell is exactly it. */
export function labelFromFindings(findingLabels: string): LabelId | undefined {
  const index = (findingNames as readonly string[]).indexOf(findingLabels.trim());
  return index < 0 ? undefined : (index as LabelId);
}

/** The class named on the command line (`no-finding`, `mass`, `pneumonia`). */
export function labelFromCliName(name: string): LabelId {
  const index = (cliLabelNames as readonly string[]).indexOf(name.trim().toLowerCase());
  if (index < 0) throw new UsageError(`unknown label '${name}' (expected one of ${cliLabelNames.join(', ')})`);
  return index as LabelId;
}
