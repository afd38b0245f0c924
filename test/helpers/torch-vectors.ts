// Loads the committed PyTorch golden vectors (test/reference/vectors/*.json, written by
// test/reference/make_torch_vectors.py, whose docstring defines the format) into Float64Arrays.

import { readFileSync } from 'node:fs';
import type { Shape4 } from './reference.ts';

export interface TensorEntry {
  shape: number[];
  data: number[];
  /** Present only for integer tensors. */
  dtype?: 'int64';
}

export type TensorMap = Record<string, TensorEntry>;

export interface OpCase {
  op: string;
  config: Record<string, number | boolean | string | number[]>;
  inputs: TensorMap;
  outputs: TensorMap;
  /** Absent for the "adam" trajectory cases. */
  grad_outputs?: TensorMap;
  grads?: TensorMap;
}

export interface OpsVectors {
  format: 'xraygen-torch-ops-1';
  torch_version: string;
  dtype: 'float32';
  seed: number;
  cases: Record<string, OpCase>;
}

export interface ConvnetRun {
  /** Loss before each step. */
  losses: number[];
  /** After the last step, BN running stats and num_batches_tracked included. */
  state_dict: TensorMap;
}

export interface AdamConvnetVectors {
  format: 'xraygen-adam-convnet-1';
  torch_version: string;
  description: Record<string, unknown> & { steps: number };
  input: TensorEntry;
  target: TensorEntry;
  initial_state_dict: TensorMap;
  runs: { float32: ConvnetRun; float64: ConvnetRun };
}

const vectorsDirectory = new URL('../reference/vectors/', import.meta.url);

function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, vectorsDirectory), 'utf8')) as T;
}

export function loadOpsVectors(): OpsVectors {
  return readJson<OpsVectors>('ops.json');
}

export function loadAdamConvnetVectors(): AdamConvnetVectors {
  return readJson<AdamConvnetVectors>('adam_convnet.json');
}

/**
 * The tensor's values as float64. Float32 files store 9 significant digits, so Math.fround
 * recovers the exact float32 value PyTorch used; pass float32 = false for float64 data.
 */
export function tensorValues(entry: TensorEntry, float32 = true): Float64Array {
  return float32 && entry.dtype === undefined ? Float64Array.from(entry.data, Math.fround) : Float64Array.from(entry.data);
}

export function shape4(entry: TensorEntry): Shape4 {
  const [n, c, h, w] = entry.shape;
  if (entry.shape.length !== 4 || n === undefined || c === undefined || h === undefined || w === undefined) {
    throw new Error(`expected a 4-d tensor, got shape [${entry.shape}]`);
  }
  return [n, c, h, w];
}
