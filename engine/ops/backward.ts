// `backward(loss)`: the autograd walk (engine/autograd.ts) wired to the element-wise kernels it
// needs to seed and accumulate gradients (leaves' several at a time: engine/ops/gradient-adds.ts).

import { backwardWith } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';
import { add, full } from './elementwise.ts';
import { LeafGradientAdds } from './gradient-adds.ts';

const math = { add, ones: (like: Tensor) => full(like, 1, 'grad seed'), leafAdds: () => new LeafGradientAdds() };

/** d loss / d leaf for every leaf that requires a gradient, accumulated into `.grad`. */
export function backward(loss: Tensor, seedGradient?: Tensor): void {
  backwardWith(math, loss, seedGradient);
}
