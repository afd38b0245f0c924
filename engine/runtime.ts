// The engine: one device, one buffer pool, one open command encoder. Ops record dispatches into
// the encoder; `flush()` submits them once per step (on a GPU also every `submitEvery` dispatches);
// `read()` copies any number of tensors back with a single mapAsync. In a dry run there is no device:
// allocations are replayed, kernels skipped.

import { requestGpu, type AdapterKind, type DeviceOptions, type GpuContext } from './device.ts';
import { BufferPool, type PooledBuffer, type PoolStats } from './memory.ts';
import { Tensor, BYTES_PER_ELEMENT, shapeSize, shapeString, type DType } from './tensor.ts';
import type { Kernel } from './kernel.ts';
import { checkBindings } from './kernel.ts';
import { UniformArena } from './uniform-arena.ts';
import { StagingBuffers } from './staging.ts';
import { DeviceError, KernelBindingError } from './errors.ts';

export interface EngineOptions extends DeviceOptions {
  /** Hard GPU memory budget for tensors, in bytes. */
  maxBytes?: number;
  /** Replay allocations only: no device, no kernels (for "does this fit?" questions). */
  dryRun?: boolean;
  /** Seed of the counter-based RNG (dropout, noise). */
  seed?: number;
  /**
   * Size launches (and so some buffers) as for this kind of adapter instead of the device's own: a dry
   * run's plan for a machine (default 'gpu', the larger), or a test of the other kind's code path.
   */
  adapterKind?: AdapterKind;
  /**
   * Submit after this many dispatches instead of once per step (0: once), so a GPU starts on the first
   * kernels while the CPU still records the rest (after a wait, after 1, 2, 4, ... up to this many).
   * Default: 0 on a software adapter, whose kernels run on the cores that record them;
   * SUBMIT_EVERY_ON_GPU on a GPU.
   */
  submitEvery?: number;
  /** How the training tape keeps activations for backward: 'f16' stores them at half the bytes (engine/ops/half-storage.ts). */
  savedActivations?: SavedActivationStorage;
  /** A dry run's storage binding limit (a device's own is used otherwise): WebGPU's default, 128 MiB, if absent. */
  maxBindingBytes?: number;
  /** Rebuild in backward the activations that a recipe can make again, instead of keeping them (engine/ops/recompute.ts). */
  recomputeActivations?: boolean;
}

export type SavedActivationStorage = 'f32' | 'f16';

const SUBMIT_EVERY_ON_GPU = 64;

/** WebGPU's default maxStorageBufferBindingSize, which every adapter offers. */
export const DEFAULT_BINDING_BYTES = 128 * 2 ** 20;

/**
 * The subgroups a dry run assumes of the adapter kind it plans for (lavapipe's 8 lanes, NVIDIA's 32), so
 * that it picks the kernels, and so plans the temporary buffers, that such a device's run does.
 */
const DRY_RUN_SUBGROUP_SIZE: Record<AdapterKind, number> = { cpu: 8, gpu: 32 };

export interface DispatchArgs {
  /** Storage buffers by their WGSL names. */
  buffers: Record<string, Tensor>;
  /** Fields of the kernel's `params` uniform struct. */
  params?: Record<string, number>;
  /** Pipeline-overridable constants; each distinct set is its own cached pipeline. */
  overrides?: Record<string, number>;
  workgroups: readonly [number, number?, number?];
  /** For the profiler: shapes, FLOPs and bytes moved. */
  label?: string;
  flops?: number;
  bytes?: number;
}

/** Observes dispatches (the profiler hooks in here). */
export interface DispatchObserver {
  beforeDispatch(pass: GPUComputePassEncoder, kernel: Kernel, args: DispatchArgs): void;
  afterDispatch(pass: GPUComputePassEncoder, kernel: Kernel, args: DispatchArgs): void;
  beforeSubmit?(encoder: GPUCommandEncoder): void;
  afterSubmit?(): void;
  /**
   * A descriptor here gives this dispatch a compute pass of its own: WebGPU times whole passes
   * (`timestampWrites`), so a profiler with pass-level timestamps asks for one pass per dispatch.
   */
  passDescriptor?(kernel: Kernel, args: DispatchArgs): GPUComputePassDescriptor | undefined;
  /** A pipeline was compiled; times from performance.now(), in ms. */
  pipelineCompiled?(kernel: Kernel, startMs: number, endMs: number): void;
  /** The engine waited for the GPU (a mapAsync, onSubmittedWorkDone); times in ms. */
  waited?(what: string, startMs: number, endMs: number): void;
}

const MAX_WORKGROUPS_PER_DIM = 65535;
const NO_OVERRIDES: Readonly<Record<string, number>> = Object.freeze({});

/** A kernel compiled with one set of override constants. */
interface CompiledKernel {
  /** Distinguishes the compiled kernels in bind-group cache keys. */
  id: number;
  pipeline: GPUComputePipeline;
  bindGroupLayout: GPUBindGroupLayout;
}

/** The kernel's bind group layout: its buffers as reflected, and `params` on a dynamic offset. */
function layoutEntries(kernel: Kernel): GPUBindGroupLayoutEntry[] {
  const entries: GPUBindGroupLayoutEntry[] = kernel.layout.bindings.map((binding) => ({
    binding: binding.binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type: binding.kind === 'uniform' ? 'uniform' : binding.writable ? 'storage' : 'read-only-storage' },
  }));
  const params = kernel.layout.params;
  if (params) entries.push({ binding: params.binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } });
  return entries;
}

/** Bind groups kept for reuse; past this many the cache starts over (a step uses a few hundred). */
const MAX_CACHED_BIND_GROUPS = 8192;

export class Engine {
  readonly pool: BufferPool;
  observer: DispatchObserver | null = null;
  /** Counter-based RNG state: every random op takes the next counter, so runs replay exactly. */
  seed: number;
  private readonly kindOverride: AdapterKind | undefined;
  randomCounter = 0;
  dispatchCount = 0;
  submitCount = 0;
  /** See EngineOptions.submitEvery; may be changed between steps. */
  submitEvery: number;
  /** See EngineOptions.savedActivations; may change between steps. */
  savedActivations: SavedActivationStorage;
  /** See EngineOptions.recomputeActivations; may change between steps. */
  recomputeActivations: boolean;
  private dispatchesSinceSubmit = 0;
  /**
   * Dispatches before the next submit: 1 once the queue has drained (a wait), doubling with each submit
   * up to submitEvery, so an idle GPU starts on the first kernel instead of after submitEvery of them.
   */
  private submitAfter = 1;
  private readonly storageReferences = new Map<PooledBuffer, number>();
  private readonly scopes: Set<Tensor>[] = [];
  private readonly pipelines = new Map<string, CompiledKernel>();
  // createBindGroup costs ~26 us in Dawn (bench/dispatch-overhead.ts), and a repeated step binds the
  // same pooled buffers to the same kernels (the pool hands out the lowest free id); `params` rides on a
  // dynamic offset, so a kernel's bind group depends on its tensors only.
  private readonly bindGroups = new Map<string, { group: GPUBindGroup; poolIds: number[] }>();
  /** The keys of `bindGroups` that name each pool buffer: what to drop when the pool destroys it. */
  private readonly bindGroupKeysByBuffer = new Map<number, Set<string>>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly afterSubmit: Array<() => void> = [];
  private readonly uniforms: UniformArena;
  private readonly staging: StagingBuffers | null;

  /** Largest tensor one kernel binding may see (the WebGPU default, 128 MiB, in a dry run). */
  readonly maxBindingBytes: number;
  /** Workgroup memory one kernel may declare (the WebGPU default, 16 KiB, in a dry run). */
  readonly maxWorkgroupStorageBytes: number;

  private constructor(readonly gpu: GpuContext | null, options: EngineOptions) {
    this.seed = options.seed ?? 0;
    this.kindOverride = options.adapterKind;
    this.savedActivations = options.savedActivations ?? 'f32';
    this.recomputeActivations = options.recomputeActivations ?? false;
    this.submitEvery = options.submitEvery ?? (gpu?.kind === 'gpu' ? SUBMIT_EVERY_ON_GPU : 0);
    this.maxBindingBytes = gpu?.device.limits.maxStorageBufferBindingSize ?? options.maxBindingBytes ?? DEFAULT_BINDING_BYTES;
    this.maxWorkgroupStorageBytes = gpu?.device.limits.maxComputeWorkgroupStorageSize ?? 16 * 2 ** 10;
    // Before the pool destroys buffers (a trim, or an eviction under the budget), the work recorded so
    // far is submitted, and the bind groups that name those buffers go.
    const beforeDestroy = (entries: readonly PooledBuffer[]) => {
      this.flush();
      this.forgetBindGroups(entries.map((entry) => entry.id));
    };
    this.pool = new BufferPool(gpu?.device ?? null, { maxBytes: options.maxBytes, beforeDestroy });
    this.uniforms = new UniformArena(gpu?.device ?? null);
    this.staging = gpu ? new StagingBuffers(gpu.device) : null;
  }

  static async create(options: EngineOptions = {}): Promise<Engine> {
    return new Engine(options.dryRun ? null : await requestGpu(options), options);
  }

  get isDryRun(): boolean {
    return this.gpu === null;
  }

  get device(): GPUDevice {
    if (!this.gpu) throw new Error('dry-run engine has no device');
    return this.gpu.device;
  }

  get features(): ReadonlySet<string> {
    return this.gpu?.features ?? new Set();
  }

  /** The smallest subgroup size kernels can rely on; 0 when subgroups are unavailable. */
  get subgroupMinSize(): number {
    return this.gpu ? this.gpu.subgroupMinSize : DRY_RUN_SUBGROUP_SIZE[this.adapterKind];
  }

  /** The largest subgroup the adapter may run (NVIDIA 32, lavapipe 8); 0 when subgroups are unavailable. */
  get subgroupMaxSize(): number {
    return this.gpu ? this.gpu.subgroupMaxSize : DRY_RUN_SUBGROUP_SIZE[this.adapterKind];
  }

  /** What the kernels' launches are sized for: the adapter's kind unless overridden (a dry run: 'gpu'). */
  get adapterKind(): AdapterKind {
    return this.kindOverride ?? this.gpu?.kind ?? 'gpu';
  }

  describe(): string {
    return this.gpu ? this.gpu.description : 'dry run (no device)';
  }

  // ---- tensors and lifetimes ----

  empty(shape: readonly number[], dtype: DType = 'f32', name = 'tensor'): Tensor {
    for (const dim of shape) {
      if (!Number.isInteger(dim) || dim < 0) throw new Error(`${name}: bad shape ${shapeString(shape)}`);
    }
    const bytes = Math.max(4, shapeSize(shape) * BYTES_PER_ELEMENT[dtype]);
    const storage = this.pool.acquire(bytes, name);
    this.storageReferences.set(storage, 1);
    return this.track(new Tensor(this, shape, dtype, storage, name));
  }

  fromArray(data: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32', name = 'tensor'): Tensor {
    if (data.length !== shapeSize(shape)) throw new Error(`${name}: ${data.length} values for shape ${shapeString(shape)}`);
    const tensor = this.empty(shape, dtype, name);
    // upload() copies at once, so an array of the right type goes as it is (a batch of images: ~2 ms
    // a step to copy on the 2-core VM).
    const Typed = dtype === 'f32' ? Float32Array : dtype === 'i32' ? Int32Array : Uint32Array;
    this.upload(tensor, data instanceof Typed ? data : Typed.from(data));
    return tensor;
  }

  /** Writes host data into an existing tensor, ordered after everything recorded so far. */
  upload(tensor: Tensor, data: Float32Array | Int32Array | Uint32Array): void {
    if (data.byteLength !== tensor.byteLength) throw new Error(`${tensor.name}: upload of ${data.byteLength} bytes into ${tensor.byteLength}`);
    if (!this.gpu || data.byteLength === 0) return;
    // A staging copy inside the encoder keeps program order: a queue.writeBuffer would jump ahead
    // of dispatches recorded earlier that still read this (possibly recycled) buffer.
    const staging = this.staging!.takeUpload(data.byteLength);
    new Uint8Array(staging.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    staging.unmap();
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(staging, 0, tensor.pooled.buffer!, tensor.byteOffset, Math.ceil(data.byteLength / 4) * 4);
    this.afterSubmit.push(() => this.staging!.uploadDone(staging));
  }

  /** A tensor of another shape sharing `source`'s buffer. */
  view(source: Tensor, shape: readonly number[]): Tensor {
    if (shapeSize(shape) !== source.size) throw new Error(`cannot view ${shapeString(source.shape)} as ${shapeString(shape)}`);
    return this.slice(source, source.byteOffset, shape, source.name);
  }

  /** A tensor over part of `source`'s buffer, from `byteOffset` (a multiple of 256, as WebGPU binds). */
  slice(source: Tensor, byteOffset: number, shape: readonly number[], name: string): Tensor {
    const storage = source.pooled;
    if (byteOffset % 256 !== 0) throw new Error(`${name}: offset ${byteOffset} is not 256-byte aligned`);
    if (byteOffset + shapeSize(shape) * BYTES_PER_ELEMENT[source.dtype] > storage.size) throw new Error(`${name}: slice runs past its buffer`);
    this.storageReferences.set(storage, (this.storageReferences.get(storage) ?? 0) + 1);
    return this.track(new Tensor(this, shape, source.dtype, storage, name, byteOffset));
  }

  /** Called by Tensor.dispose(); the buffer returns to the pool when its last view is gone. */
  releaseStorage(storage: PooledBuffer): void {
    const count = (this.storageReferences.get(storage) ?? 1) - 1;
    if (count > 0) {
      this.storageReferences.set(storage, count);
      return;
    }
    this.storageReferences.delete(storage);
    this.pool.release(storage);
  }

  /**
   * Runs `fn` in a scope: tensors created inside are disposed at the end unless they are part of
   * the result (a tensor, or an array / object of tensors) or were passed to `keep()`.
   */
  tidy<T>(fn: () => T): T {
    const scope = new Set<Tensor>();
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn();
    } finally {
      this.scopes.pop();
    }
    const kept = new Set<Tensor>();
    collectTensors(result, kept);
    for (const tensor of scope) {
      if (kept.has(tensor)) this.track(tensor);
      else tensor.dispose();
    }
    return result;
  }

  /** Removes a tensor from the current scope so that it outlives it. */
  keep<T extends Tensor>(tensor: T): T {
    for (const scope of this.scopes) scope.delete(tensor);
    return tensor;
  }

  private track(tensor: Tensor): Tensor {
    this.scopes[this.scopes.length - 1]?.add(tensor);
    return tensor;
  }

  /** Staging buffers created so far (uploads and readbacks reuse theirs; a steady loop stops adding). */
  get stagingBuffersCreated(): number {
    return this.staging?.created ?? 0;
  }

  /** Bind groups held for reuse (see `bindGroup`). */
  get cachedBindGroups(): number {
    return this.bindGroups.size;
  }

  memory(): PoolStats {
    return this.pool.stats();
  }

  /** The next RNG key for a random op: (seed, counter) feeds a Philox stream on the GPU. */
  nextRandomKey(): [number, number] {
    return [this.seed >>> 0, this.randomCounter++ >>> 0];
  }

  // ---- kernels ----

  run(kernel: Kernel, args: DispatchArgs): void {
    const layout = kernel.layout;
    checkBindings(kernel, args.buffers, this.maxBindingBytes);
    const [x, y = 1, z = 1] = args.workgroups;
    if (x > MAX_WORKGROUPS_PER_DIM || y > MAX_WORKGROUPS_PER_DIM || z > MAX_WORKGROUPS_PER_DIM) {
      throw new KernelBindingError(`${kernel.name}: ${x}x${y}x${z} workgroups exceeds ${MAX_WORKGROUPS_PER_DIM} per dimension`);
    }
    if (!this.uniforms.hasRoomFor(kernel)) this.flush();
    const paramOffset = this.uniforms.write(kernel, args.params ?? {});
    this.dispatchCount++;
    if (!this.gpu || x * y * z === 0) return;

    const compiled = this.pipeline(kernel, args.overrides ?? NO_OVERRIDES);
    const bindGroup = this.bindGroup(compiled, kernel, args.buffers);
    const ownPass = this.observer?.passDescriptor?.(kernel, args);
    if (ownPass) this.endPass();
    const pass = this.computePass(ownPass);
    this.observer?.beforeDispatch(pass, kernel, args);
    pass.setPipeline(compiled.pipeline);
    pass.setBindGroup(0, bindGroup, layout.params ? [paramOffset] : []);
    pass.dispatchWorkgroups(x, y, z);
    this.observer?.afterDispatch(pass, kernel, args);
    if (this.submitEvery > 0 && ++this.dispatchesSinceSubmit >= Math.min(this.submitAfter, this.submitEvery)) this.flush();
  }

  private pipeline(kernel: Kernel, overrides: Record<string, number>): CompiledKernel {
    // The key lists the values of the kernel's declared overrides in order (JSON.stringify of the
    // object cost more than the lookup); a name it does not declare is refused before any lookup.
    let key = `${kernel.id}:`;
    let given = 0;
    for (const name of kernel.layout.overrides) {
      const value = overrides[name];
      if (value !== undefined) {
        key += value;
        given++;
      }
      key += ',';
    }
    if (given !== Object.keys(overrides).length) {
      const unknown = Object.keys(overrides).find((name) => !kernel.layout.overrides.includes(name));
      throw new KernelBindingError(`${kernel.name}: unknown override "${unknown}"`);
    }
    let compiled = this.pipelines.get(key);
    if (!compiled) {
      const startMs = performance.now();
      const module = this.device.createShaderModule({ code: kernel.source, label: kernel.name });
      const bindGroupLayout = this.device.createBindGroupLayout({ entries: layoutEntries(kernel), label: kernel.name });
      const pipeline = this.device.createComputePipeline({
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout], label: kernel.name }),
        compute: { module, entryPoint: kernel.entry, constants: overrides },
        label: kernel.name,
      });
      this.observer?.pipelineCompiled?.(kernel, startMs, performance.now());
      compiled = { id: this.pipelines.size, pipeline, bindGroupLayout };
      this.pipelines.set(key, compiled);
    }
    return compiled;
  }

  /** The bind group of `compiled` over these tensors (and the uniform arena), made once and reused. */
  private bindGroup(compiled: CompiledKernel, kernel: Kernel, buffers: DispatchArgs['buffers']): GPUBindGroup {
    // Pool ids are never reused, and the pool's destroying of buffers drops the groups naming them.
    let key = String(compiled.id);
    for (const binding of kernel.layout.bindings) {
      const tensor = buffers[binding.name];
      key += `|${tensor.pooled.id}:${tensor.byteOffset}:${tensor.byteLength}`;
    }
    let bindGroup = this.bindGroups.get(key)?.group;
    if (!bindGroup) {
      const resources = kernel.layout.bindings.map((binding) => {
        const tensor = buffers[binding.name];
        return { binding: binding.binding, pooled: tensor.pooled, offset: tensor.byteOffset, size: Math.max(4, tensor.byteLength) };
      });
      const entries: GPUBindGroupEntry[] = resources.map((r) => ({ binding: r.binding, resource: { buffer: r.pooled.buffer!, offset: r.offset, size: r.size } }));
      const params = kernel.layout.params;
      if (params) entries.push({ binding: params.binding, resource: { buffer: this.uniforms.buffer!, offset: 0, size: params.size } });
      bindGroup = this.device.createBindGroup({ layout: compiled.bindGroupLayout, entries, label: kernel.name });
      if (this.bindGroups.size >= MAX_CACHED_BIND_GROUPS) {
        this.bindGroups.clear();
        this.bindGroupKeysByBuffer.clear();
      }
      const poolIds = resources.map((r) => r.pooled.id);
      this.bindGroups.set(key, { group: bindGroup, poolIds });
      for (const id of poolIds) {
        let keys = this.bindGroupKeysByBuffer.get(id);
        if (!keys) this.bindGroupKeysByBuffer.set(id, (keys = new Set()));
        keys.add(key);
      }
    }
    return bindGroup;
  }

  /** Drops the cached bind groups that name any of these pool buffers (an index, not a scan: evictions come every step under a tight budget). */
  private forgetBindGroups(poolIds: Iterable<number>): void {
    for (const id of poolIds) {
      for (const key of this.bindGroupKeysByBuffer.get(id) ?? []) {
        const entry = this.bindGroups.get(key);
        if (!entry) continue;
        this.bindGroups.delete(key);
        for (const other of entry.poolIds) if (other !== id) this.bindGroupKeysByBuffer.get(other)?.delete(key);
      }
      this.bindGroupKeysByBuffer.delete(id);
    }
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private computePass(descriptor?: GPUComputePassDescriptor): GPUComputePassEncoder {
    this.pass ??= this.commandEncoder().beginComputePass(descriptor);
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submits everything recorded so far (one command buffer). */
  flush(): void {
    if (!this.gpu) {
      this.uniforms.upload(null);
      return;
    }
    this.throwIfFailed();
    if (!this.encoder) return;
    this.endPass();
    this.observer?.beforeSubmit?.(this.encoder);
    this.uniforms.upload(this.device.queue);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.submitCount++;
    this.dispatchesSinceSubmit = 0;
    this.submitAfter = Math.min(2 * this.submitAfter, Math.max(1, this.submitEvery));
    for (const callback of this.afterSubmit.splice(0)) callback();
    this.observer?.afterSubmit?.();
  }

  /** Reads tensors back with one submit and one mapAsync. */
  async read(tensors: Tensor[]): Promise<Array<Float32Array | Int32Array | Uint32Array>> {
    const arrays = tensors.map((t) => (t.dtype === 'f32' ? new Float32Array(t.size) : t.dtype === 'i32' ? new Int32Array(t.size) : new Uint32Array(t.size)));
    if (!this.gpu) return arrays;
    const offsets: number[] = [];
    let total = 0;
    for (const tensor of tensors) {
      offsets.push(total);
      total += Math.ceil(tensor.byteLength / 4) * 4;
    }
    const readBytes = Math.max(4, total);
    const staging = this.staging!.takeReadback(readBytes);
    this.endPass();
    const encoder = this.commandEncoder();
    tensors.forEach((tensor, i) => {
      if (tensor.byteLength) encoder.copyBufferToBuffer(tensor.pooled.buffer!, tensor.byteOffset, staging, offsets[i], tensor.byteLength);
    });
    this.flush();
    try {
      await this.waitFor(staging.mapAsync(GPUMapMode.READ, 0, readBytes), 'reading back tensors');
      this.throwIfFailed();
      const mapped = staging.getMappedRange(0, readBytes);
      tensors.forEach((tensor, i) => new Uint8Array(arrays[i].buffer).set(new Uint8Array(mapped, offsets[i], tensor.byteLength)));
      staging.unmap();
    } catch (error) {
      staging.destroy();
      throw error;
    }
    this.staging!.readbackDone(staging);
    return arrays;
  }

  /** Waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    if (this.gpu) await this.waitFor(this.device.queue.onSubmittedWorkDone(), 'waiting for the GPU');
    this.throwIfFailed();
  }

  /** Races a GPU promise against device loss, so a lost device is an error, never a hang. */
  private async waitFor<T>(promise: Promise<T>, what: string): Promise<T> {
    const gpu = this.gpu!;
    const lost = gpu.lost.then(() => {
      throw new DeviceError(`${gpu.lostReason} (while ${what})`);
    });
    const startMs = performance.now();
    const result = await Promise.race([promise, lost]);
    // The queue has drained: the next work starts the GPU at once (see submitAfter).
    this.submitAfter = 1;
    this.observer?.waited?.(what, startMs, performance.now());
    return result;
  }

  private throwIfFailed(): void {
    if (!this.gpu) return;
    if (this.gpu.lostReason) throw new DeviceError(this.gpu.lostReason);
    const error = this.gpu.takeError();
    if (error) throw error;
  }

  /** Frees every GPU resource; the engine cannot be used afterwards. */
  destroy(): void {
    this.pool.destroy();
    this.uniforms.destroy();
    this.staging?.destroy();
    this.gpu?.device.destroy();
  }
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const item of value) collectTensors(item, into);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collectTensors(item, into);
  }
}
