// Every dispatch's `params` struct goes into one uniform buffer, 256-byte slots in order, uploaded
// with a single writeBuffer just before the submit that uses them (queue order keeps the previous
// submit's values intact), instead of one small buffer per dispatch.

import type { Kernel } from './kernel.ts';
import { KernelBindingError } from './errors.ts';

const SLOT_BYTES = 256;
const ARENA_BYTES = 256 * 1024;

export class UniformArena {
  readonly buffer: GPUBuffer | null;
  private readonly data = new Uint8Array(ARENA_BYTES);
  private readonly view = new DataView(this.data.buffer);
  private used = 0;

  constructor(device: GPUDevice | null) {
    this.buffer = device?.createBuffer({ size: ARENA_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'uniform arena' }) ?? null;
  }

  /** Whether `kernel`'s params still fit before the next upload. */
  hasRoomFor(kernel: Kernel): boolean {
    return this.used + (kernel.layout.params?.size ?? 0) <= ARENA_BYTES;
  }

  /** Writes the named values into the kernel's params struct; returns its byte offset. */
  write(kernel: Kernel, values: Record<string, number>): number {
    const params = kernel.layout.params;
    if (!params) {
      const names = Object.keys(values);
      if (names.length) throw new KernelBindingError(`${kernel.name}: has no params, got ${names.join(', ')}`);
      return 0;
    }
    const offset = this.used;
    for (const field of params.fields) {
      const value = values[field.name];
      if (value === undefined) throw new KernelBindingError(`${kernel.name}: missing param "${field.name}"`);
      const at = offset + field.offset;
      if (field.type === 'f32') this.view.setFloat32(at, value, true);
      else if (field.type === 'i32') this.view.setInt32(at, value, true);
      else this.view.setUint32(at, value, true);
    }
    // Every field was found above, so any further name is one the struct does not have.
    if (Object.keys(values).length !== params.fields.length) {
      const unknown = Object.keys(values).filter((name) => !params.fields.some((field) => field.name === name));
      throw new KernelBindingError(`${kernel.name}: unknown param(s) ${unknown.join(', ')}`);
    }
    this.used += Math.ceil(params.size / SLOT_BYTES) * SLOT_BYTES;
    return offset;
  }

  /** Queues the slots written since the last upload (call right before submit) and starts over. */
  upload(queue: GPUQueue | null): void {
    if (queue && this.buffer && this.used) queue.writeBuffer(this.buffer, 0, this.data, 0, this.used);
    this.used = 0;
  }

  destroy(): void {
    this.buffer?.destroy();
  }
}
