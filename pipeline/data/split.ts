// Patient-wise train/val/test assignment: every image of a patient lands in the same split,
// deterministic from a seed, or taken from the official train_val_list.txt / test_list.txt.

import { shuffled } from '../../engine/host-random.ts';

export type Split = 'train' | 'val' | 'test';
export const splitNames: readonly Split[] = ['train', 'val', 'test'];
export const splitCodes: Record<Split, number> = { train: 0, val: 1, test: 2 };

export interface SplitFractions {
  val: number;
  test: number;
}

export const defaultSplitFractions: SplitFractions = { val: 0.1, test: 0.1 };

export interface OfficialSplitLists {
  /** image names listed in test_list.txt */
  test: ReadonlySet<string>;
}

export interface SplitItem {
  imageIndex: string;
  patientId: string;
}

const splitStream = 0x5e11;

/**
 * Assigns a split to each item. Patients are shuffled by the seed and dealt to test, then val,
 * until each reaches its share of images; the rest train. With official lists, a patient with any
 * image in test_list.txt is test (the lists are patient-wise already) and val is drawn from the rest.
 */
export function splitByPatient(items: readonly SplitItem[], seed: number, fractions: SplitFractions = defaultSplitFractions, official?: OfficialSplitLists): Split[] {
  const imagesByPatient = new Map<string, number[]>();
  items.forEach((item, index) => {
    const list = imagesByPatient.get(item.patientId);
    if (list) list.push(index);
    else imagesByPatient.set(item.patientId, [index]);
  });
  const patients = [...imagesByPatient.keys()].sort();
  const result: Split[] = new Array<Split>(items.length).fill('train');
  const assign = (patient: string, split: Split): void => {
    for (const index of imagesByPatient.get(patient)!) result[index] = split;
  };

  let remaining = patients;
  if (official) {
    remaining = [];
    for (const patient of patients) {
      if (imagesByPatient.get(patient)!.some((index) => official.test.has(items[index]!.imageIndex))) assign(patient, 'test');
      else remaining.push(patient);
    }
  }
  const order = shuffled(remaining, seed, splitStream);
  const targets: Array<[Split, number]> = official
    ? [['val', Math.round(fractions.val * items.length)]]
    : [['test', Math.round(fractions.test * items.length)], ['val', Math.round(fractions.val * items.length)]];
  let cursor = 0;
  for (const [split, target] of targets) {
    let assignedCount = 0;
    while (assignedCount < target && cursor < order.length) {
      const patient = order[cursor++]!;
      assign(patient, split);
      assignedCount += imagesByPatient.get(patient)!.length;
    }
  }
  return result;
}
