// A model's layers run one after another with each intermediate freed as soon as the next layer has
// read it. Without this every activation of a forward lives until the caller's tidy scope ends (a whole
// training step), although backward needs only what the tape retained; with it a step holds just
// those (and with `engine.savedActivations = 'f16'` their f16 copies), and inference holds about two
// activations at a time.

import type { Tensor } from '../engine/tensor.ts';

export type Layer = (x: Tensor) => Tensor;

/**
 * `layers` applied in order to `x`, each in its own tidy scope (so what it makes besides its output
 * goes at its end, unless the tape retained it). `x` belongs to the caller and is never freed here.
 */
export function runLayers(x: Tensor, layers: readonly Layer[]): Tensor {
  const engine = x.engine;
  let h = x;
  for (const layer of layers) {
    const input = h;
    h = engine.tidy(() => layer(input));
    if (input !== x && input !== h) {
      // Out of the enclosing scopes first, so their end does not dispose it a second time.
      engine.keep(input);
      input.dispose();
    }
  }
  return h;
}
