// A model's tensors: trainable parameters in one flat ParameterGroup, BatchNorm running statistics
// as plain tensors, `num_batches_tracked` as host counters; seeded initialisation; and the state
// dict in PyTorch names, so a safetensors file of ours loads with `load_state_dict`.

import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import { shapeSize, shapeString } from '../engine/tensor.ts';
import { ParameterGroup } from '../engine/parameters.ts';
import { RandomStream, hashString } from '../engine/host-random.ts';
import { BadInputFileError } from '../engine/errors.ts';
import type { SafetensorsFile, SafetensorsInput } from '../engine/io/safetensors.ts';
import { toFloat32, toBigInt64 } from '../engine/io/safetensors.ts';

export type Init =
  | { kind: 'normal'; mean: number; std: number }
  | { kind: 'uniform'; bound: number }
  | { kind: 'constant'; value: number };

export interface TensorSpec {
  name: string;
  shape: readonly number[];
  init: Init;
  /** 'parameter' (trained), 'buffer' (running statistics), 'counter' (num_batches_tracked, I64). */
  role: 'parameter' | 'buffer' | 'counter';
}

export const normal = (mean: number, std: number): Init => ({ kind: 'normal', mean, std });
export const constant = (value: number): Init => ({ kind: 'constant', value });
/** PyTorch's default conv/linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export const fanInUniform = (fanIn: number): Init => ({ kind: 'uniform', bound: 1 / Math.sqrt(fanIn) });

export function parameter(name: string, shape: readonly number[], init: Init): TensorSpec {
  return { name, shape, init, role: 'parameter' };
}

/** BatchNorm2d's five tensors, initialised as the spec says (weight N(1, std), bias 0). */
export function batchNormSpecs(name: string, channels: number, weightStd = 0.02): TensorSpec[] {
  return [
    parameter(`${name}.weight`, [channels], weightStd > 0 ? normal(1, weightStd) : constant(1)),
    parameter(`${name}.bias`, [channels], constant(0)),
    { name: `${name}.running_mean`, shape: [channels], init: constant(0), role: 'buffer' },
    { name: `${name}.running_var`, shape: [channels], init: constant(1), role: 'buffer' },
    { name: `${name}.num_batches_tracked`, shape: [], init: constant(0), role: 'counter' },
  ];
}

export class Module {
  readonly params: ParameterGroup;
  readonly buffers = new Map<string, Tensor>();
  readonly counters = new Map<string, number>();
  /**
   * Momentum of every BatchNorm running statistic in training mode (PyTorch's default 0.1);
   * models/standing-statistics.ts sets 1/(k+1) to make them a plain mean over k+1 batches.
   */
  batchNormMomentum = 0.1;

  constructor(readonly engine: Engine, readonly prefix: string, readonly specs: readonly TensorSpec[]) {
    this.params = new ParameterGroup(engine, specs.filter((s) => s.role === 'parameter'), prefix);
    for (const spec of specs) {
      if (spec.role === 'buffer') this.buffers.set(spec.name, engine.keep(engine.empty(spec.shape, 'f32', `${prefix}.${spec.name}`)));
      if (spec.role === 'counter') this.counters.set(spec.name, 0);
    }
  }

  /** A parameter or buffer by its name inside the model (no prefix). */
  tensor(name: string): Tensor {
    return this.buffers.get(name) ?? this.params.get(name);
  }

  /** Seeded initialisation: each tensor draws from its own stream keyed by its name. */
  initialize(seed: number): void {
    for (const spec of this.specs) {
      if (spec.role === 'counter') {
        this.counters.set(spec.name, 0);
        continue;
      }
      const values = new Float32Array(shapeSize(spec.shape));
      const random = new RandomStream(seed, hashString(`${this.prefix}.${spec.name}`));
      const init = spec.init;
      for (let i = 0; i < values.length; i++) {
        values[i] = init.kind === 'constant' ? init.value : init.kind === 'normal' ? init.mean + init.std * random.normal() : random.range(-init.bound, init.bound);
      }
      this.engine.upload(this.tensor(spec.name), values);
    }
  }

  /** Every tensor under `prefix.name` (or another prefix), read back in one mapAsync. */
  async stateDict(prefix = this.prefix): Promise<SafetensorsInput[]> {
    const floating = this.specs.filter((s) => s.role !== 'counter');
    const values = await this.engine.read(floating.map((s) => this.tensor(s.name)));
    const byName = new Map(floating.map((s, i) => [s.name, values[i] as Float32Array]));
    return this.specs.map((spec) =>
      spec.role === 'counter'
        ? { name: `${prefix}.${spec.name}`, dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(this.counters.get(spec.name) ?? 0)) }
        : { name: `${prefix}.${spec.name}`, dtype: 'F32', shape: spec.shape, data: byName.get(spec.name)! },
    );
  }

  /** Loads `prefix.*` tensors from a parsed file; a missing or misshapen tensor is a one-line error listing the first mismatches. */
  loadStateDict(file: SafetensorsFile): void {
    const problems: string[] = [];
    for (const spec of this.specs) {
      const entry = file.tensors.get(`${this.prefix}.${spec.name}`);
      if (!entry) problems.push(`${this.prefix}.${spec.name} missing (want ${shapeString(spec.shape)})`);
      else if (shapeString(entry.shape) !== shapeString(spec.shape)) problems.push(`${this.prefix}.${spec.name} is ${shapeString(entry.shape)}, want ${shapeString(spec.shape)}`);
    }
    if (problems.length) {
      throw new BadInputFileError(file.fileName, `not a ${this.prefix} of this architecture: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}`);
    }
    for (const spec of this.specs) {
      const entry = file.tensors.get(`${this.prefix}.${spec.name}`)!;
      if (spec.role === 'counter') this.counters.set(spec.name, Number(toBigInt64(entry, file.fileName)[0] ?? 0n));
      else this.engine.upload(this.tensor(spec.name), Float32Array.from(toFloat32(entry, file.fileName)));
    }
  }

  dispose(): void {
    this.params.dispose();
    for (const tensor of this.buffers.values()) tensor.dispose();
    this.buffers.clear();
  }
}
