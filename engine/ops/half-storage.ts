// Activations kept for backward in half precision. Most of a training step's peak memory is the
// activations the tape keeps until backward (conv inputs for the weight gradients, BatchNorm inputs);
// with `engine.savedActivations = 'f16'` the ops that keep them store an f16 copy instead (half the
// bytes) and unpack it to f32 when their backward runs, as mixed-precision training stores them.
// The arithmetic stays f32. WGSL: shaders/half_storage.wgsl. (With `engine.recomputeActivations`, an
// activation that a recipe can rebuild is not kept at all: engine/ops/recompute.ts.)

import { kernel } from '../kernel.ts';
import { isRecording } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { linearGrid } from './grid.ts';
import { recipeOf } from './recompute.ts';

const kernels = {
  pack: kernel('half_storage', 'pack'),
  unpack: kernel('half_storage', 'unpack'),
  packVec4: kernel('half_storage', 'pack_vec4'),
  unpackVec4: kernel('half_storage', 'unpack_vec4'),
};

/** `x`'s values as f16, two to a u32 word: a [ceil(size / 2)] u32 tensor. */
export function packHalf(x: Tensor): Tensor {
  const engine = x.engine;
  if (x.dtype !== 'f32') throw new Error(`packHalf: ${x} is not f32`);
  const packed = engine.empty([Math.ceil(x.size / 2)], 'u32', `${x.name} (f16)`);
  const vec4 = x.size % 4 === 0;
  engine.run(vec4 ? kernels.packVec4 : kernels.pack, {
    buffers: vec4 ? { x4: x, packed_out2: packed } : { x, packed_out: packed },
    params: { count: x.size },
    workgroups: linearGrid(Math.ceil(x.size / (vec4 ? 4 : 2))),
    label: `packHalf ${shapeString(x.shape)}`,
    bytes: 6 * x.size,
  });
  return packed;
}

/** The f32 tensor of `shape` whose values `packed` holds (packHalf's inverse, up to f16 rounding). */
export function unpackHalf(packed: Tensor, shape: readonly number[], name = 'unpacked'): Tensor {
  const engine = packed.engine;
  const out = engine.empty(shape, 'f32', name);
  if (packed.dtype !== 'u32' || packed.size !== Math.ceil(out.size / 2)) {
    out.dispose();
    throw new Error(`unpackHalf: ${packed} does not hold ${shapeString(shape)} as f16`);
  }
  const vec4 = out.size % 4 === 0;
  engine.run(vec4 ? kernels.unpackVec4 : kernels.unpack, {
    buffers: vec4 ? { packed2: packed, out4: out } : { packed, out },
    params: { count: out.size },
    workgroups: linearGrid(Math.ceil(out.size / (vec4 ? 4 : 2))),
    label: `unpackHalf ${shapeString(shape)}`,
    bytes: 6 * out.size,
  });
  return out;
}

/** What an op's backward reads of an activation it keeps. */
export interface SavedActivation {
  /** The tensors to list among the tape node's saved tensors: the activation, its f16 copy, or what rebuilds it. */
  readonly stored: readonly Tensor[];
  /** The activation in f32, for backward; the caller disposes it. */
  read(): Tensor;
  /** Drops this handle's own reference once the tape has retained `stored` (or did not record). */
  release(): void;
}

/** Below this an f16 copy saves too little to pay for its two passes. */
const MIN_HALF_ELEMENTS = 4096;

// One f16 copy per activation, shared by every op that keeps it (a LeakyReLU'd conv output is kept
// by that conv and by the next one); the copy lives while some tape node holds it.
const halfCopies = new WeakMap<Tensor, Tensor>();

/**
 * Keeps `x` for the backward of an op over `inputs` (when the tape records it: some input requires a
 * gradient): what rebuilds x where recomputation is on and x has a recipe; else x in f16 where the
 * engine says so and x is big enough to matter; else x itself.
 */
export function saveActivation(x: Tensor, inputs: Array<Tensor | null>): SavedActivation {
  const engine = x.engine;
  const recording = isRecording(engine) && inputs.some((t) => t?.requiresGrad);
  const recipe = recording ? recipeOf(x) : null;
  if (recipe) return { stored: recipe.sources, read: () => recipe.rebuild(), release: () => {} };
  const half = engine.savedActivations === 'f16' && x.dtype === 'f32' && x.size >= MIN_HALF_ELEMENTS && recording;
  if (!half) return keepInF32(x);
  let copy = halfCopies.get(x);
  if (copy && !copy.isDisposed) copy.retain();
  else halfCopies.set(x, (copy = engine.keep(packHalf(x))));
  const stored = copy;
  return { stored: [stored], read: () => unpackHalf(stored, x.shape, `${x.name} (from f16)`), release: () => stored.dispose() };
}

/** Keeps `x` itself, whatever the engine's setting: for values whose gradient needs f32's digits. */
export function keepInF32(x: Tensor): SavedActivation {
  return { stored: [x], read: () => x.engine.view(x, x.shape), release: () => {} };
}

/** `fn(x in f32)`, disposing the unpacked copy afterwards. */
export function withActivation<T>(saved: SavedActivation, fn: (x: Tensor) => T): T {
  const x = saved.read();
  try {
    return fn(x);
  } finally {
    x.dispose();
  }
}
