// A tensor: a shape, a dtype and a pooled GPU buffer, with explicit lifetime (dispose, or the
// engine's tidy scopes) and the autograd fields the tape needs.

import type { Engine } from './runtime.ts';
import type { PooledBuffer } from './memory.ts';
import type { TapeNode } from './autograd.ts';

export type DType = 'f32' | 'i32' | 'u32';

export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, i32: 4, u32: 4 };

export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export class Tensor {
  readonly size: number;
  requiresGrad = false;
  /** Accumulated gradient of a leaf (parameter); owned by this tensor. */
  grad: Tensor | null = null;
  /** The tape node that produced this tensor, when it was recorded. */
  gradFn: TapeNode | null = null;
  private references = 1;

  constructor(
    readonly engine: Engine,
    readonly shape: readonly number[],
    readonly dtype: DType,
    private storage: PooledBuffer | null,
    readonly name = 'tensor',
    /** Where this tensor starts in its buffer (views into flat parameter storage); 256-aligned. */
    readonly byteOffset = 0,
  ) {
    this.size = shapeSize(shape);
  }

  get isDisposed(): boolean {
    return this.storage === null;
  }

  get pooled(): PooledBuffer {
    if (!this.storage) throw new Error(`${this.name} ${shapeString(this.shape)} used after dispose()`);
    return this.storage;
  }

  get byteLength(): number {
    return this.size * BYTES_PER_ELEMENT[this.dtype];
  }

  /** Another holder (a tape node, a cache) keeps this tensor alive until it calls dispose(). */
  retain(): this {
    this.pooled;
    this.references++;
    return this;
  }

  dispose(): void {
    if (!this.storage) return;
    if (--this.references > 0) return;
    this.engine.releaseStorage(this.storage);
    this.storage = null;
    this.grad?.dispose();
    this.grad = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  async toArray(): Promise<Float32Array | Int32Array | Uint32Array> {
    const [values] = await this.engine.read([this]);
    return values;
  }

  toString(): string {
    return `Tensor(${this.name} ${this.dtype}${shapeString(this.shape)})`;
  }
}
