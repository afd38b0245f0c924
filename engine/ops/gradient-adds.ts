// A backward's leaf gradients, added into the leaves' `.grad` up to 7 at a time: one dispatch of
// shaders/gradient_adds.wgsl where each took an add_inplace of its own. A model's parameters keep
// their gradients as slices of one flat buffer (engine/parameters.ts), so a backward's leaves share
// a target buffer, and a GPU step made one small dispatch per parameter (191 an SRGAN step, 48 a
// CGAN step), each costing more to record than to run. The sums are the same to the bit: each
// element gets the same single add, in the same order per target.

import { shapeString, type Tensor } from '../tensor.ts';
import { kernel } from '../kernel.ts';
import { addInPlace } from './elementwise.ts';

const addsKernel = kernel('gradient_adds');
/** Source bindings of the kernel (with its target, 8 storage buffers: WebGPU's default limit). */
const PAIRS = 7;
/**
 * Larger gradients are added at once: holding one for the next few leaves would raise the step's
 * peak (a dense layer's weight gradient is tens of MiB), and its own add is long enough to record.
 */
const DEFERRED_BYTES = 256 * 1024;
/** Workgroups along a slice at most; the kernel's threads stride over longer ones. */
const MAX_GROUPS_PER_SLICE = 256;

interface PendingAdd { target: Tensor; addition: Tensor }

export class LeafGradientAdds {
  private pending: PendingAdd[] = [];

  /** target += addition, now or with the next few (at the latest at `flush`); disposes `addition`. */
  add(target: Tensor, addition: Tensor): void {
    if (shapeString(target.shape) !== shapeString(addition.shape)) throw new Error(`${target.name}: a gradient of ${shapeString(addition.shape)} for ${shapeString(target.shape)}`);
    if (this.pending.some((p) => overlaps(p.target, target))) this.flush();
    if (!this.deferrable(target, addition)) {
      addInPlace(target, addition);
      addition.dispose();
      return;
    }
    if (this.pending.length && this.pending[0].target.pooled !== target.pooled) this.flush();
    this.pending.push({ target, addition });
    if (this.pending.length === PAIRS) this.flush();
  }

  /** Adds whatever is pending. */
  flush(): void {
    const pending = this.pending;
    this.pending = [];
    if (pending.length === 1) {
      addInPlace(pending[0].target, pending[0].addition);
    } else if (pending.length > 1) {
      const engine = pending[0].target.engine;
      const storage = pending[0].target.pooled;
      const whole = engine.slice(pending[0].target, 0, [storage.size / 4], 'leaf gradients');
      const params: Record<string, number> = { pairs: pending.length };
      const buffers: Record<string, Tensor> = { grads: whole };
      for (let i = 0; i < PAIRS; i++) {
        const add = pending[i];
        params[`offset${i}`] = add ? add.target.byteOffset / 4 : 0;
        params[`length${i}`] = add ? add.target.size : 0;
        // Unused source bindings repeat the first (read-only, never read).
        buffers[`source${i}`] = (add ?? pending[0]).addition;
      }
      const longest = Math.max(...pending.map((p) => p.target.size));
      engine.run(addsKernel, {
        buffers, params,
        workgroups: [Math.min(MAX_GROUPS_PER_SLICE, Math.ceil(longest / 256)), pending.length],
        label: `leaf gradient adds (${pending.length})`,
        bytes: 3 * 4 * pending.reduce((sum, p) => sum + p.target.size, 0),
      });
      whole.dispose();
    }
    for (const { addition } of pending) addition.dispose();
  }

  /** Whether the add can wait for others into the same buffer (bound whole, so within the binding limit). */
  private deferrable(target: Tensor, addition: Tensor): boolean {
    return target.dtype === 'f32' && addition.dtype === 'f32' && addition.byteLength <= DEFERRED_BYTES &&
      target.pooled !== addition.pooled && target.pooled.size <= target.engine.maxBindingBytes;
  }
}

function overlaps(a: Tensor, b: Tensor): boolean {
  return a.pooled === b.pooled && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
