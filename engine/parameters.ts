// Trainable parameters of one model, carved out of one flat buffer (values) with their gradients in
// a second (llm.c style): memory is planned up front, zeroing gradients is one dispatch, and the
// optimizer updates every parameter of the model in one fused dispatch.

import type { Engine } from './runtime.ts';
import type { Tensor } from './tensor.ts';
import { shapeSize, shapeString } from './tensor.ts';
import { fillInPlace } from './ops/elementwise.ts';

export interface ParameterSpec {
  name: string;
  shape: readonly number[];
}

/** Each slice starts on a 256-byte boundary (64 floats), as WebGPU requires for binding offsets. */
const ALIGN_ELEMENTS = 64;

export class ParameterGroup {
  /** All values, padded; padding is zero and stays zero under Adam (zero gradient, zero value). */
  readonly values: Tensor;
  readonly grads: Tensor;
  readonly tensors = new Map<string, Tensor>();
  readonly offsets = new Map<string, number>();

  constructor(readonly engine: Engine, specs: readonly ParameterSpec[], readonly label = 'parameters') {
    let total = 0;
    for (const spec of specs) {
      if (this.offsets.has(spec.name)) throw new Error(`${label}: parameter ${spec.name} declared twice`);
      this.offsets.set(spec.name, total);
      total += Math.ceil(Math.max(1, shapeSize(spec.shape)) / ALIGN_ELEMENTS) * ALIGN_ELEMENTS;
    }
    this.values = engine.keep(engine.empty([total], 'f32', `${label}.values`));
    this.grads = engine.keep(engine.empty([total], 'f32', `${label}.grads`));
    fillInPlace(this.values, 0);
    fillInPlace(this.grads, 0);
    for (const spec of specs) {
      const offset = this.offsets.get(spec.name)! * 4;
      const tensor = engine.keep(engine.slice(this.values, offset, spec.shape, spec.name));
      tensor.requiresGrad = true;
      tensor.grad = engine.keep(engine.slice(this.grads, offset, spec.shape, `${spec.name}.grad`));
      this.tensors.set(spec.name, tensor);
    }
  }

  get(name: string): Tensor {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new Error(`${this.label}: no parameter ${name}`);
    return tensor;
  }

  /** Number of (unpadded) scalar parameters. */
  get count(): number {
    let count = 0;
    for (const tensor of this.tensors.values()) count += tensor.size;
    return count;
  }

  zeroGrad(): void {
    fillInPlace(this.grads, 0);
  }

  /**
   * Runs `fn` (a forward and its backward) with these parameters taken as constants: no weight
   * gradients are computed or accumulated for them, while gradients still flow through them to the
   * inputs. A GAN's generator update goes through the discriminator this way (Keras's
   * `discriminator.trainable = False` in a combined model), instead of computing D's weight gradients
   * only for the next D update to zero them.
   */
  frozen<T>(fn: () => T): T {
    for (const tensor of this.tensors.values()) tensor.requiresGrad = false;
    try {
      return fn();
    } finally {
      for (const tensor of this.tensors.values()) tensor.requiresGrad = true;
    }
  }

  set(name: string, data: Float32Array): void {
    const tensor = this.get(name);
    if (data.length !== tensor.size) throw new Error(`${this.label}: ${name} ${shapeString(tensor.shape)} given ${data.length} values`);
    this.engine.upload(tensor, data);
  }

  dispose(): void {
    for (const tensor of this.tensors.values()) {
      tensor.grad?.dispose();
      tensor.grad = null;
      tensor.dispose();
    }
    this.tensors.clear();
    this.values.dispose();
    this.grads.dispose();
  }
}
