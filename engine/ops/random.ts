// Random tensors made on the GPU (uniform, normal) and dropout, all from the engine's counter-based
// Philox stream: each call takes engine.nextRandomKey(), so a run replays exactly from its seed, and
// dropout's backward regenerates its mask from the key instead of storing it. WGSL: shaders/random.wgsl.

import { kernel, type Kernel } from '../kernel.ts';
import { record } from '../autograd.ts';
import type { Engine } from '../runtime.ts';
import type { Tensor } from '../tensor.ts';
import { shapeSize, shapeString } from '../tensor.ts';
import { linearGrid } from './grid.ts';
import { recipeOf, registerRecipe } from './recompute.ts';

const kernels = {
  bits: kernel('random', 'random_bits'),
  uniform: kernel('random', 'random_uniform'),
  normal: kernel('random', 'random_normal'),
  normalRows: kernel('random', 'random_normal_rows'),
  dropout: kernel('random', 'dropout'),
  dropoutVec4: kernel('random', 'dropout_vec4'),
};

export type RandomKey = readonly [seed: number, counter: number];

interface RandomParams {
  threshold?: number;
  scale?: number;
  offset?: number;
  range?: number;
  columns?: number;
}

/** One thread per block of four elements, each block one Philox call. */
function runRandom(engine: Engine, k: Kernel, buffers: Record<string, Tensor>, count: number, key: RandomKey, extra: RandomParams, label: string, threads = Math.ceil(count / 4)): void {
  engine.run(k, {
    buffers,
    params: {
      count, key_seed: key[0], key_counter: key[1],
      threshold: extra.threshold ?? 0, scale: extra.scale ?? 1, offset: extra.offset ?? 0, range: extra.range ?? 1, columns: extra.columns ?? 0,
    },
    workgroups: linearGrid(threads),
    label,
  });
}

/** The raw 32-bit Philox4x32-10 words for counter blocks 0..ceil(count/4)-1 under `key` (for tests). */
export function randomBits(engine: Engine, count: number, key: RandomKey = engine.nextRandomKey()): Tensor {
  const out = engine.empty([count], 'u32', 'randomBits');
  runRandom(engine, kernels.bits, { bits: out }, count, key, {}, `randomBits [${count}]`);
  return out;
}

/** Samples uniform in (low, high); never exactly low (24-bit resolution). */
export function randomUniform(engine: Engine, shape: readonly number[], low = 0, high = 1): Tensor {
  const out = engine.empty(shape, 'f32', 'randomUniform');
  runRandom(engine, kernels.uniform, { out }, shapeSize(shape), engine.nextRandomKey(), { offset: low, range: high - low }, `randomUniform ${shapeString(shape)}`);
  return out;
}

/** Samples N(mean, std^2) by Box-Muller (latent codes, Gaussian noise, weight initialisation). */
export function randomNormal(engine: Engine, shape: readonly number[], mean = 0, std = 1): Tensor {
  const out = engine.empty(shape, 'f32', 'randomNormal');
  runRandom(engine, kernels.normal, { out }, shapeSize(shape), engine.nextRandomKey(), { offset: mean, range: std }, `randomNormal ${shapeString(shape)}`);
  return out;
}

/**
 * [rows, columns] of N(mean, std^2) where row r is a pure function of (seed, streams[r]) (streams:
 * u32 [rows]): a generated image's latent code does not depend on how a job is batched or sharded.
 */
export function randomNormalRows(engine: Engine, streams: Tensor, columns: number, seed: number, mean = 0, std = 1): Tensor {
  if (streams.dtype !== 'u32') throw new Error(`randomNormalRows: streams must be u32, got ${streams}`);
  const rows = streams.size;
  const out = engine.empty([rows, columns], 'f32', 'randomNormalRows');
  runRandom(engine, kernels.normalRows, { streams, out }, rows * columns, [seed >>> 0, 0], { offset: mean, range: std, columns },
    `randomNormalRows [${rows},${columns}]`, rows * Math.ceil(columns / 4));
  return out;
}

/** Keeps an element with probability 1 - p: its word >= p * 2^32. p = 1 drops everything. */
function dropoutParams(p: number): RandomParams {
  if (p >= 1) return { threshold: 0xffffffff, scale: 0 };
  return { threshold: Math.min(0xffffffff, Math.round(p * 2 ** 32)), scale: 1 / (1 - p) };
}

/**
 * Inverted dropout (PyTorch semantics): in training, zero each element with probability p and
 * scale the rest by 1 / (1 - p). In eval or with p = 0 the result is a view of x.
 */
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: p must be in [0, 1], got ${p}`);
  const engine = x.engine;
  if (!training || p === 0) {
    const view = engine.view(x, x.shape);
    return record(view, [x], 'dropout (identity)', (dy) => [engine.view(dy, x.shape)]);
  }
  const key = engine.nextRandomKey();
  const settings = dropoutParams(p);
  const label = `dropout ${shapeString(x.shape)}`;
  const apply = (input: Tensor, name: string, passLabel = label): Tensor => {
    const out = engine.empty(x.shape, 'f32', name);
    if (x.size % 4 === 0) runRandom(engine, kernels.dropoutVec4, { x4: input, out4: out }, x.size, key, settings, passLabel);
    else runRandom(engine, kernels.dropout, { x: input, out }, x.size, key, settings, passLabel);
    return out;
  };
  const out = apply(x, 'dropout');
  // Rebuilt from x's own recipe (x itself would be no smaller to keep than out).
  const recipe = recipeOf(x);
  if (recipe) {
    registerRecipe(out, { sources: recipe.sources, rebuild: () => {
      const input = recipe.rebuild();
      try {
        return apply(input, 'dropout', `${label} (rebuilt)`);
      } finally {
        input.dispose();
      }
    } });
  }
  // The mask depends only on the key and the element index, so backward applies the same one to dy.
  return record(out, [x], 'dropout', (dy) => [apply(dy, 'dropout.dx')]);
}
