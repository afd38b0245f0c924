// Opens a WebGPU device in Node (Dawn, the `webgpu` package) or in a browser (navigator.gpu),
// with the adapter's real limits and the optional features the engine can use.

import { DeviceError } from './errors.ts';
import { lowerJsThreadPriority } from './js-thread-priority.ts';

export const OPTIONAL_FEATURES = ['timestamp-query', 'shader-f16', 'subgroups'] as const;

/** What kind of processor runs the kernels: a few CPU cores, or a GPU's thousands of lanes. */
export type AdapterKind = 'cpu' | 'gpu';

export function adapterKind(adapter: GPUAdapter): AdapterKind {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return info?.isFallbackAdapter || info?.architecture === 'software' ? 'cpu' : 'gpu';
}

/** What a memory plan needs to know of an adapter: its kind, and the largest storage binding a device on it gets. */
export interface AdapterProbe {
  kind: AdapterKind;
  maxBindingBytes: number;
}

/** The adapter this machine would use, without opening a device; null when there is none. */
export async function probeAdapter(options: DeviceOptions = {}): Promise<AdapterProbe | null> {
  const gpu = await gpuEntryPoint();
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  // requestGpu asks for the adapter's own limit, so a device gets this one.
  return adapter ? { kind: adapterKind(adapter), maxBindingBytes: adapter.limits.maxStorageBufferBindingSize } : null;
}

/** The kind of the adapter this machine would use; null when there is none. */
export async function probeAdapterKind(options: DeviceOptions = {}): Promise<AdapterKind | null> {
  return (await probeAdapter(options))?.kind ?? null;
}

export interface GpuContext {
  device: GPUDevice;
  features: ReadonlySet<string>;
  /** The smallest subgroup the adapter may run (0 without the 'subgroups' feature). */
  subgroupMinSize: number;
  /** The largest subgroup it may run (0 without the feature): kernels that split a workgroup by subgroups need it. */
  subgroupMaxSize: number;
  /** One line naming the adapter and backend, for logs and run configs. */
  description: string;
  /** 'cpu' for a software rasteriser (lavapipe, SwiftShader), else 'gpu': how many workgroups keep it busy. */
  kind: AdapterKind;
  /** Resolves (never rejects) when the device is lost; `lostReason` is set first. */
  lost: Promise<void>;
  lostReason: string | null;
  /** The first uncaptured GPU error since the last `takeError()`. */
  takeError(): DeviceError | null;
}

export interface DeviceOptions {
  /** Features to leave out even when the adapter offers them (e.g. to test fallbacks). */
  disableFeatures?: string[];
  powerPreference?: GPUPowerPreference;
  /**
   * Leave the JavaScript thread's priority as it is. By default, with a software adapter in Node on
   * Linux, it is lowered below the adapter's shader threads (engine/js-thread-priority.ts says why).
   */
  keepThreadPriority?: boolean;
}

async function getGpu(): Promise<GPU> {
  if (typeof navigator !== 'undefined' && (navigator as Navigator).gpu) return (navigator as Navigator).gpu;
  // Node: the module name is a variable so that browser bundlers leave it alone.
  const moduleName = 'webgpu';
  const dawn = (await import(/* @vite-ignore */ moduleName)) as { create(flags: string[]): GPU; globals: object };
  Object.assign(globalThis, dawn.globals);
  // Dawn rounds timestamps to 65.5 us by default (a fingerprinting guard meant for the web); a
  // profiler on a local machine wants them exact.
  // XRAYGEN_DAWN_FLAGS adds Dawn's own flags (';' between flags, e.g.
  // `enable-dawn-features=dump_shaders,disable_symbol_renaming` prints the SPIR-V that Tint hands the
  // driver): a diagnostic for kernel work, not a setting.
  const extra = (typeof process !== 'undefined' ? process.env.XRAYGEN_DAWN_FLAGS : undefined)?.split(';').filter(Boolean) ?? [];
  return dawn.create(['disable-dawn-features=timestamp_quantization', ...extra]);
}

let cachedGpu: Promise<GPU> | null = null;

/** The process's one WebGPU entry point (Dawn in Node), for a library that must share it (bench/kernels.ts: TF.js). */
export function gpuEntryPoint(): Promise<GPU> {
  cachedGpu ??= getGpu();
  return cachedGpu;
}

export async function requestGpu(options: DeviceOptions = {}): Promise<GpuContext> {
  if (typeof process !== 'undefined' && process.env && !process.env.XDG_RUNTIME_DIR) {
    // Mesa's lavapipe warns (and some loaders fail) without it on headless machines.
    process.env.XDG_RUNTIME_DIR = '/tmp';
  }
  const gpu = await gpuEntryPoint();
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new DeviceError('no WebGPU adapter: on Debian 12 run `sudo scripts/setup-system.sh` (Mesa >= 24 lavapipe), in a browser enable WebGPU');
  }
  const disabled = new Set(options.disableFeatures ?? []);
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && !disabled.has(f)) as GPUFeatureName[];
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: limits.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });

  if (adapterKind(adapter) === 'cpu' && !options.keepThreadPriority) await lowerJsThreadPriority();

  let firstError: DeviceError | null = null;
  device.onuncapturederror = (event: GPUUncapturedErrorEvent) => {
    firstError ??= new DeviceError(`GPU error: ${event.error.message.split('\n')[0]}`);
  };
  const context: GpuContext = {
    device,
    features: new Set(requiredFeatures),
    subgroupMinSize: requiredFeatures.includes('subgroups') ? ((adapter.info as { subgroupMinSize?: number }).subgroupMinSize ?? 0) : 0,
    // Unknown counts as the largest size WebGPU allows, so that nothing assumes smaller subgroups.
    subgroupMaxSize: requiredFeatures.includes('subgroups') ? ((adapter.info as { subgroupMaxSize?: number }).subgroupMaxSize ?? 128) : 0,
    description: describeAdapter(adapter),
    kind: adapterKind(adapter),
    lostReason: null,
    lost: Promise.resolve(),
    takeError() {
      const error = firstError;
      firstError = null;
      return error;
    },
  };
  context.lost = device.lost.then((info) => {
    context.lostReason = `GPU device lost (${info.reason}): ${info.message || 'no message'}`;
  });
  return context;
}

function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info;
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description].filter((p) => p);
  return parts.length ? parts.join(' / ') : 'unknown adapter';
}
