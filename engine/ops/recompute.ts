// Activations recomputed in backward instead of kept (`engine.recomputeActivations`). A conv keeps
// its input for its weight gradient; when that input is a BatchNorm's output (through its fused
// activation, and a dropout), the tape keeps the BatchNorm's input for the BatchNorm's own backward
// anyway, so the conv can keep that instead, with the BatchNorm's small tensors, and rebuild its input
// with the same element-wise passes when its backward runs: one activation-sized tensor fewer per
// such layer for one element-wise pass more. The rebuilt values are the forward's bit for bit (the
// same kernels on the same inputs, weights not yet updated: backward runs before the optimizer).

import type { Tensor } from '../tensor.ts';

/** How to make a tensor again from tensors that outlive it. */
export interface Recipe {
  /** What the rebuild reads: kept by whoever keeps the recipe. */
  readonly sources: readonly Tensor[];
  /** The tensor's values in a new f32 tensor, which the caller disposes. */
  rebuild(): Tensor;
}

const recipes = new WeakMap<Tensor, Recipe>();

/** Records that `tensor` can be rebuilt from `recipe.sources` (an op calls this on its output). */
export function registerRecipe(tensor: Tensor, recipe: Recipe): void {
  recipes.set(tensor, recipe);
}

/**
 * The recipe of `tensor`, when recomputation is on and every source is still alive (an op that was
 * not recorded has already dropped what its recipe would read).
 */
export function recipeOf(tensor: Tensor): Recipe | null {
  if (!tensor.engine.recomputeActivations) return null;
  const recipe = recipes.get(tensor);
  return recipe && recipe.sources.every((source) => !source.isDisposed) ? recipe : null;
}
