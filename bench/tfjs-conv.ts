// The TF.js WebGPU backend as a comparator for bench/kernels.ts: the same conv layers as kernel
// calls (Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter) in TF.js's NHWC layout, on the
// engine's own GPUDevice so both share one queue and are synchronised the same way (flush, then
// onSubmittedWorkDone). The packages are optional: without them the comparator is skipped.

import { gpuEntryPoint } from '../engine/device.ts';
import type { Layer, Passes } from './conv-layers.ts';
import { lcgValues, outputSize } from './conv-layers.ts';

/** The few TF.js entry points used here (typed locally: the packages are optional dev dependencies). */
interface TfTensor {
  dispose(): void;
}
interface TfCore {
  tensor(values: Float32Array, shape: number[]): TfTensor;
  tidy(fn: () => TfTensor): TfTensor;
  engine(): { runKernel(name: string, inputs: Record<string, TfTensor>, attrs: Record<string, unknown>): TfTensor };
  registerBackend(name: string, factory: () => unknown, priority?: number): boolean;
  removeBackend(name: string): void;
  findBackendFactory(name: string): unknown;
  setBackend(name: string): Promise<boolean>;
  backend(): { commandEncoder: GPUCommandEncoder | null; endComputePassEncoder(): void; submitQueue(): void };
}
interface TfWebGpu {
  WebGPUBackend: new (device: GPUDevice) => unknown;
}

export interface Tfjs {
  tf: TfCore;
  sync: () => Promise<void>;
  dispose(): void;
}

/** TF.js on `device`, or null when the packages are not installed. */
export async function loadTfjs(device: GPUDevice): Promise<Tfjs | null> {
  // TF.js checks navigator.gpu before it will construct its backend; Node 20 has no navigator.
  const globals = globalThis as { navigator?: { gpu?: GPU } };
  if (!globals.navigator?.gpu) {
    Object.defineProperty(globalThis, 'navigator', { value: { ...globals.navigator, gpu: await gpuEntryPoint() }, configurable: true });
  }
  const names = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu'];
  let tf: TfCore;
  let webgpu: TfWebGpu;
  try {
    tf = (await import(/* @vite-ignore */ names[0])) as TfCore;
    webgpu = (await import(/* @vite-ignore */ names[1])) as TfWebGpu;
  } catch {
    return null;
  }
  // Its own registration would open a second device; this one shares the engine's.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new webgpu.WebGPUBackend(device), 3);
  if (!(await tf.setBackend('webgpu'))) return null;
  return {
    tf,
    sync: async () => {
      const backend = tf.backend();
      backend.endComputePassEncoder();
      if (backend.commandEncoder) backend.submitQueue();
      await device.queue.onSubmittedWorkDone();
    },
    dispose: () => tf.removeBackend('webgpu'),
  };
}

/** TF.js's three passes of `layer`; inputs are made (NHWC, HWIO filters) once, outside the timing. */
export function tfjsPasses({ tf }: Tfjs, layer: Layer): Passes {
  const { batch, inChannels, outChannels, inSize, kernel, stride, padding, transposed } = layer;
  const outSize = outputSize(layer);
  const make = (shape: number[], seed: number) => tf.tensor(lcgValues(shape.reduce((a, b) => a * b, 1), seed), shape);
  const xShape = [batch, inSize, inSize, inChannels];
  const yShape = [batch, outSize, outSize, outChannels];
  const x = make(xShape, 1);
  const dy = make(yShape, 3);
  // Conv2D's filter is [kH, kW, in, out]; conv2dTranspose reads the same tensor as [kH, kW, out', in'].
  const filterShape = transposed ? [kernel, kernel, outChannels, inChannels] : [kernel, kernel, inChannels, outChannels];
  const filter = make(filterShape, 2);
  const attrs = { strides: [stride, stride], pad: padding, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined };
  const run = (name: string, inputs: Record<string, TfTensor>, extra: Record<string, unknown> = {}) => () => {
    tf.tidy(() => tf.engine().runKernel(name, inputs, { ...attrs, ...extra })).dispose();
  };
  const passes = transposed
    ? {
      fwd: run('Conv2DBackpropInput', { dy: x, filter }, { inputShape: yShape }),
      dx: run('Conv2D', { x: dy, filter }),
      dw: run('Conv2DBackpropFilter', { x: dy, dy: x }, { filterShape }),
    }
    : {
      fwd: run('Conv2D', { x, filter }),
      dx: run('Conv2DBackpropInput', { dy, filter }, { inputShape: xShape }),
      dw: run('Conv2DBackpropFilter', { x, dy }, { filterShape }),
    };
  return { ...passes, dispose: () => [x, dy, filter].forEach((t) => t.dispose()) };
}
