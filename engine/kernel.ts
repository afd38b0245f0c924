// A compute kernel: one entry point of one `shaders/*.wgsl` file. Its bindings and its `params`
// uniform struct are read with wgsl_reflect, so callers pass buffers and parameters by name and
// the engine checks them before dispatch.

import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { shaderSource } from './shader-source.ts';
import { AdapterLimitError, KernelBindingError } from './errors.ts';
import type { Tensor } from './tensor.ts';

export interface BindingInfo {
  name: string;
  binding: number;
  kind: 'storage' | 'uniform';
  writable: boolean;
  /** Element type of an array binding ('f32', 'i32', 'u32', ...) or null. */
  elementType: string | null;
  /** Minimum byte size the buffer must have (0 for runtime-sized arrays). */
  minBytes: number;
}

export interface ParamField {
  name: string;
  offset: number;
  type: 'f32' | 'i32' | 'u32';
}

export interface KernelLayout {
  bindings: BindingInfo[];
  /** The `params` uniform, if the kernel has one. */
  params: { binding: number; size: number; fields: ParamField[] } | null;
  overrides: string[];
  workgroupSize: [number, number, number];
}

let nextKernelId = 0;

export class Kernel {
  readonly id = nextKernelId++;
  private cachedLayout: KernelLayout | null = null;

  constructor(readonly shader: string, readonly entry = 'main') {}

  get name(): string {
    return this.entry === 'main' ? this.shader : `${this.shader}.${this.entry}`;
  }

  get source(): string {
    return shaderSource(this.shader);
  }

  get layout(): KernelLayout {
    this.cachedLayout ??= reflectLayout(this.source, this.entry, this.name);
    return this.cachedLayout;
  }
}

/** Declares a kernel; cheap, so op files do it at module level. */
export function kernel(shader: string, entry = 'main'): Kernel {
  return new Kernel(shader, entry);
}

function reflectLayout(source: string, entry: string, name: string): KernelLayout {
  const reflect = new WgslReflect(source);
  const fn = reflect.entry.compute.find((f) => f.name === entry);
  if (!fn) throw new KernelBindingError(`${name}: no @compute entry point "${entry}"`);
  const bindings: BindingInfo[] = [];
  let params: KernelLayout['params'] = null;
  for (const resource of fn.resources) {
    if (resource.group !== 0) throw new KernelBindingError(`${name}: binding ${resource.name} must be in group 0`);
    if (resource.name === 'params' && resource.resourceType === 0 /* Uniform */) {
      const fields = (resource.members ?? []).map((member) => {
        const type = member.type.name;
        if (type !== 'f32' && type !== 'i32' && type !== 'u32') {
          throw new KernelBindingError(`${name}: params.${member.name} must be a scalar f32/i32/u32, not ${type}`);
        }
        return { name: member.name, offset: member.offset, type } as ParamField;
      });
      params = { binding: resource.binding, size: Math.max(16, Math.ceil(resource.size / 16) * 16), fields };
      continue;
    }
    const isArray = resource.type.isArray;
    const arrayType = resource.type as unknown as { format?: { name: string; format?: { name: string } | null }; count?: number };
    bindings.push({
      name: resource.name,
      binding: resource.binding,
      kind: resource.resourceType === 0 ? 'uniform' : 'storage',
      writable: resource.access === 'read_write' || resource.access === 'write',
      // vec4<f32> and atomic<u32> are templates: the tensor's dtype is their inner scalar.
      elementType: isArray ? (arrayType.format?.format?.name ?? arrayType.format?.name ?? null) : null,
      minBytes: isArray && !arrayType.count ? 0 : resource.size,
    });
  }
  const workgroupSize = (fn.workgroupSize ?? [1, 1, 1]).map((v) => (typeof v === 'number' && v > 0 ? v : 1)) as [number, number, number];
  // Module-level: an override used only in @workgroup_size is not listed among the function's.
  return { bindings, params, overrides: reflect.overrides.map((o) => o.name), workgroupSize };
}

/** Names, dtypes and sizes of the buffers a dispatch passes, against the kernel's reflected bindings. */
export function checkBindings(kernel: Kernel, buffers: Record<string, Tensor>, maxBindingBytes: number): void {
  const { bindings } = kernel.layout;
  for (const binding of bindings) {
    const tensor = buffers[binding.name];
    if (!tensor) throw new KernelBindingError(`${kernel.name}: missing buffer "${binding.name}"`);
    if (binding.elementType && binding.elementType !== tensor.dtype) {
      throw new KernelBindingError(`${kernel.name}: "${binding.name}" wants ${binding.elementType}, got ${tensor.dtype} ${tensor}`);
    }
    if (tensor.byteLength < binding.minBytes) {
      throw new KernelBindingError(`${kernel.name}: "${binding.name}" needs ${binding.minBytes} bytes, got ${tensor.byteLength}`);
    }
    if (tensor.byteLength > maxBindingBytes) {
      throw new AdapterLimitError(`${kernel.name}: "${binding.name}" ${tensor} is ${tensor.byteLength} bytes, over the adapter's ${maxBindingBytes}-byte storage binding limit (use a smaller batch)`);
    }
  }
  // Every binding was found above, so any further name is one the kernel does not bind.
  if (Object.keys(buffers).length !== bindings.length) {
    const unknown = Object.keys(buffers).filter((name) => !bindings.some((b) => b.name === name));
    throw new KernelBindingError(`${kernel.name}: unknown buffer(s) ${unknown.join(', ')} (it binds ${bindings.map((b) => b.name).join(', ')})`);
  }
}
