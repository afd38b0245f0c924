// Flag value parsers for the bench scripts' commander options: a bad value stops the script before it
// starts timing, with commander's one-line "option '--rounds <n>' argument 'x' is invalid. ..." error,
// in place of a run that silently measured something else (a misspelt layer: no layers at all).

import { InvalidArgumentError } from 'commander';
import { convTuning, GATHER_VARIANTS, WEIGHT_GRAD_VARIANTS } from '../engine/ops/conv-kernels.ts';
import { integerAtLeast } from '../pipeline/commands/options.ts';
import { parseBytes } from '../engine/memory.ts';
import { layers, passNames, type Layer, type PassName } from './conv-layers.ts';

/** A conv shape named on a command line: OP:NxCxHxW:AxBxKHxKW:sSpP. */
export interface ConvShape { transposed: boolean; x: number[]; weight: number[]; stride: number; padding: number }

const SHAPE = /^(conv|convT):(\d+x\d+x\d+x\d+):(\d+x\d+x\d+x\d+):s(\d+)p(\d+)$/;

/**
 * OP:X:WEIGHT:sSpP, OP conv (weight [Cout, Cin, kH, kW]) or convT (weight [Cin, Cout, kH, kW]), X [N,
 * C, H, W]; appended to `previous` (for a repeated option or several arguments).
 */
export function convShape(value: string, previous: ConvShape[] = []): ConvShape[] {
  const match = SHAPE.exec(value);
  if (!match) throw new InvalidArgumentError('expected OP:NxCxHxW:AxBxKHxKW:sSpP, OP conv or convT.');
  const [, op, x, weight, stride, padding] = match;
  const dims = (s: string) => s.split('x').map(Number);
  const shape = { transposed: op === 'convT', x: dims(x!), weight: dims(weight!), stride: Number(stride), padding: Number(padding) };
  if (shape.weight[shape.transposed ? 0 : 1] !== shape.x[1]) throw new InvalidArgumentError(`the weight ${weight} does not take ${shape.x[1]} input channels.`);
  return [...previous, shape];
}

/** A square conv shape as a bench layer (named by its spec), for bench/ab-trees.ts --shapes. */
export function shapeLayers(value: string): Layer[] {
  return value.split(',').map((spec) => {
    const [{ transposed, x, weight, stride, padding }] = convShape(spec);
    const [batch, inChannels, height, width] = x as [number, number, number, number];
    const [, , kernelHeight, kernelWidth] = weight as [number, number, number, number];
    if (height !== width || kernelHeight !== kernelWidth) throw new InvalidArgumentError(`${spec}: the bench layers are square (input and kernel).`);
    const outChannels = weight[transposed ? 1 : 0]!;
    return { name: spec, transposed, batch, inChannels, outChannels, inSize: height, kernel: kernelHeight, stride, padding };
  });
}

/** The CLI's integer rule (pipeline/commands/options.ts), refused in commander's way. */
export function wholeNumber(minimum: number): (value: string) => number {
  return (value) => {
    const n = integerAtLeast(value, minimum);
    if (n === null) throw new InvalidArgumentError(`expected a whole number >= ${minimum}.`);
    return n;
  };
}

/** A byte size ("500MiB", "4GiB"), refused in commander's way. */
export function byteSize(value: string): number {
  try {
    return parseBytes(value);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
}

export function oneOf<T extends string>(known: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(known as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${known.join(', ')}.`);
    return value as T;
  };
}

/** A comma-separated list, each item one of `known`. */
export function listOf<T extends string>(known: readonly T[]): (value: string) => T[] {
  const item = oneOf(known);
  return (value) => value.split(',').map(item);
}

/** `--only G2,D2`: the bench layers of bench/conv-layers.ts by name, in their order. */
export function layerList(value: string): Layer[] {
  const names = listOf(layers.map((l) => l.name))(value);
  return layers.filter((l) => names.includes(l.name));
}

export const passList: (value: string) => PassName[] = listOf(passNames);

/** The values each convTuning field may be forced to (engine/ops/conv-kernels.ts). */
const TUNING_VALUES: Record<keyof typeof convTuning, readonly string[]> = {
  gather: GATHER_VARIANTS, weightGrad: WEIGHT_GRAD_VARIANTS, vec4Strip: ['off'], tileBuffers: ['1', '2'],
};

/** `--compare gather=strip8,weightGrad=plain16`: convTuning fields and the values to force (as text). */
export function tuningChange(value: string): Record<string, string> {
  return Object.fromEntries(value.split(',').map((pair) => {
    const [key = '', setting = ''] = pair.split('=');
    const allowed = TUNING_VALUES[key as keyof typeof convTuning];
    if (!allowed) throw new InvalidArgumentError(`convTuning has no ${key} (has ${Object.keys(TUNING_VALUES).join(', ')}).`);
    return [key, oneOf(allowed)(setting)];
  }));
}
