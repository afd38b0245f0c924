// `backward(loss)`: the autograd walk (engine/autograd.ts) wired to the element-wise kernels it
// needs to seed and accumulate gradients.

import { backwardWith } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';
import { add, addInPlace, full } from './elementwise.ts';

const math = { add, addInPlace, ones: (like: Tensor) => full(like, 1, 'grad seed') };

/** d loss / d leaf for every leaf that requires a gradient, accumulated into `.grad`. */
export function backward(loss: Tensor, seedGradient?: Tensor): void {
  backwardWith(math, loss, seedGradient);
}
