// CPU cost of the WebGPU calls behind one engine.run, on the raw device: getBindGroupLayout,
// createBindGroup (two storage buffers), and setPipeline + setBindGroup + dispatchWorkgroups, each
// timed over 20000 calls, twice. On a fast GPU they are a large share of a step's wall time (the
// engine records a whole step before submitting it). Results: bench/RESULTS.md.
//
//   npx tsx bench/dispatch-overhead.ts

import { Command } from 'commander';
import { gpuEntryPoint } from '../engine/device.ts';

// No flags: --help describes the script, anything else is refused.
new Command('bench/dispatch-overhead.ts').description('CPU cost of the WebGPU calls behind one engine.run').parse();

const gpu = await gpuEntryPoint();
const adapter = (await gpu.requestAdapter())!;
const device = await adapter.requestDevice();
const module = device.createShaderModule({ code: `@group(0) @binding(0) var<storage, read_write> a: array<f32>; @group(0) @binding(1) var<storage, read> b: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3<u32>) { if (id.x < arrayLength(&a)) { a[id.x] += b[id.x]; } }` });
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
const a = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
const b = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
const N = 20000;
function time(label: string, fn: () => void): void {
  const start = performance.now();
  for (let i = 0; i < N; i++) fn();
  console.log(`${label.padEnd(36)} ${((performance.now() - start) * 1000 / N).toFixed(2)} us per call`);
}
const layout = pipeline.getBindGroupLayout(0);
for (let round = 0; round < 2; round++) {
  time('getBindGroupLayout', () => pipeline.getBindGroupLayout(0));
  time('createBindGroup', () => device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: a, offset: 0, size: 256 } }, { binding: 1, resource: { buffer: b, offset: 0, size: 256 } }] }));
  const bindGroup = device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: a } }, { binding: 1, resource: { buffer: b } }] });
  let encoder = device.createCommandEncoder();
  let pass = encoder.beginComputePass();
  let calls = 0;
  // Submitted every 500 dispatches, so that one command buffer does not grow without bound.
  time('setPipeline+setBindGroup+dispatch', () => {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(1);
    if (++calls % 500 === 0) {
      pass.end();
      device.queue.submit([encoder.finish()]);
      encoder = device.createCommandEncoder();
      pass = encoder.beginComputePass();
    }
  });
  pass.end();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
}
device.destroy();
