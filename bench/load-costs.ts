// What one float loaded costs a kernel on this adapter, by kind of load: storage scalars, storage
// vec4s, uniform-buffer vec4s (all at per-thread addresses), storage vec4s at an address the whole
// workgroup shares, workgroup-memory scalars and vec4s, sampled-texture texels (rgba32float and
// r32float), and a loop with no loads as the floor. Each kernel loads 16 floats per iteration, 1024
// iterations, in 32768 threads; best of 5 dispatches.
// On lavapipe this is why the conv kernels load vec4s: every lane's load is its own bounds-checked,
// execution-masked scalar access. Results: bench/RESULTS.md.
//
//   npx tsx bench/load-costs.ts

import { Command } from 'commander';
import { gpuEntryPoint } from '../engine/device.ts';

// No flags: --help describes the script, anything else is refused.
new Command('bench/load-costs.ts').description('what one float loaded costs a kernel on this adapter, by kind of load').parse();

const gpu = await gpuEntryPoint();
const adapter = (await gpu.requestAdapter())!;
const device = await adapter.requestDevice();
const ITERATIONS = 1024;
const THREADS = 64 * 512;
const storageScalar = '@group(0) @binding(1) var<storage, read> x: array<f32>;';
const storageVec4 = '@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;';

/**
 * A kernel that adds up ITERATIONS x 16 floats per thread: `offset` is iteration i's first index
 * (wrapped with masks, not %, which lavapipe would divide lane by lane), `sum` the vec4 sum of the 16
 * floats from offset o, after `declarations` (the input binding) and `prologue`.
 */
function loadLoop(declarations: string, offset: string, sum: string, prologue = '', tail = ''): string {
  return `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
${declarations}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) local: u32) {
  ${prologue}
  var s = vec4<f32>(0.0);
  for (var i = 0u; i < ${ITERATIONS}u; i++) {
    let o = ${offset};
    s += ${sum};
  }
  out[id.x] = s.x + s.y + s.z + s.w${tail}; }`;
}

/** The sum of 16 scalars of `array` from offset o, as 4 vec4s, and of 4 vec4s. */
const sixteenScalars = (array: string) => [0, 4, 8, 12]
  .map((k) => `vec4<f32>(${[0, 1, 2, 3].map((j) => `${array}[o + ${k + j}u]`).join(', ')})`).join(' + ');
const fourVec4s = (array: string) => [0, 1, 2, 3].map((j) => `${array}[o + ${j}u]`).join(' + ');

/** `count` textureLoad expressions of `tex`: texels o, o + 1, ... of a 256-texel-wide layout, each with `swizzle`. */
const texels = (count: number, swizzle: string) => Array.from({ length: count }, (_, j) =>
  `textureLoad(tex, vec2<u32>((o + ${j}u) & 255u, ((o + ${j}u) >> 8u) & 255u), 0)${swizzle}`);
const textureR = '@group(0) @binding(1) var tex: texture_2d<f32>;';

const kernels: Record<string, { code: string; uniform?: boolean; texture?: GPUTextureFormat }> = {
  'storage scalar': { code: loadLoop(storageScalar, '((id.x % 1024u) * 16u + i * 64u) & 262128u', sixteenScalars('x')) },
  'storage vec4': { code: loadLoop(storageVec4, '((id.x % 1024u) * 4u + i * 16u) & 65532u', fourVec4s('x')) },
  'uniform vec4': {
    uniform: true,
    code: loadLoop('@group(0) @binding(1) var<uniform> x: array<vec4<f32>, 4096>;', '((id.x % 1024u) * 4u + i * 16u) & 4092u', fourVec4s('x')),
  },
  'storage vec4, shared address': { code: loadLoop(storageVec4, '((group.x % 64u) * 4u + i * 16u) & 65532u', fourVec4s('x')) },
  'workgroup scalar': {
    code: loadLoop(`${storageVec4}\nvar<workgroup> tile: array<f32, 4096>;`, '(local * 16u + i * 64u) & 4080u', sixteenScalars('tile'),
      'for (var k = local; k < 1024u; k += 64u) { let v = x[k]; tile[4u * k] = v.x; tile[4u * k + 1u] = v.y; tile[4u * k + 2u] = v.z; tile[4u * k + 3u] = v.w; }\n  workgroupBarrier();'),
  },
  'workgroup vec4': {
    code: loadLoop(`${storageVec4}\nvar<workgroup> tile: array<vec4<f32>, 1024>;`, '(local * 4u + i * 16u) & 1020u', fourVec4s('tile'),
      'for (var k = local; k < 1024u; k += 64u) { tile[k] = x[k]; }\n  workgroupBarrier();'),
  },
  'texture rgba32float': {
    texture: 'rgba32float',
    code: loadLoop(textureR, '((id.x % 1024u) * 4u + i * 16u) & 65532u', texels(4, '').join(' + ')),
  },
  'texture r32float': {
    texture: 'r32float',
    code: loadLoop(textureR, '((id.x % 1024u) * 16u + i * 64u) & 65520u',
      [0, 4, 8, 12].map((k) => `vec4<f32>(${texels(16, '.x').slice(k, k + 4).join(', ')})`).join(' + ')),
  },
  // The same arithmetic on values made from the offset; x is read once so that the binding stays.
  'no loads': {
    code: loadLoop(`${storageVec4}\nfn rotations(f: vec4<f32>) -> vec4<f32> { return f + f.yzwx + f.zwxy + f.wxyz; }`,
      '((id.x % 1024u) * 4u + i * 16u) & 65532u', 'rotations(vec4<f32>(f32(o), f32(o + 1u), f32(o + 2u), f32(o + 3u)))', '', ' + x[0].x'),
  },
};

const out = device.createBuffer({ size: THREADS * 4, usage: GPUBufferUsage.STORAGE });
const storage = device.createBuffer({ size: 1 << 20, usage: GPUBufferUsage.STORAGE });
const uniform = device.createBuffer({ size: 65536, usage: GPUBufferUsage.UNIFORM });
console.log(`${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`);
// 256 x 256 texels (1 MiB as rgba32float), left at zero: a load's cost does not depend on the value.
const textures = new Map<GPUTextureFormat, GPUTexture>();
const textureOf = (format: GPUTextureFormat) => textures.get(format)
  ?? textures.set(format, device.createTexture({ size: [256, 256], format, usage: GPUTextureUsage.TEXTURE_BINDING })).get(format)!;
for (const [name, { code, uniform: usesUniform, texture }] of Object.entries(kernels)) {
  const module = device.createShaderModule({ code });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const input: GPUBindingResource = texture ? textureOf(texture).createView() : { buffer: usesUniform ? uniform : storage };
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: out } }, { binding: 1, resource: input }],
  });
  let best = Infinity;
  // The first dispatch compiles the pipeline and is not counted.
  for (let run = 0; run < 6; run++) {
    const start = performance.now();
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(THREADS / 64);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    if (run > 0) best = Math.min(best, performance.now() - start);
  }
  const floats = THREADS * ITERATIONS * 16;
  console.log(`${name.padEnd(30)} ${best.toFixed(1).padStart(7)} ms  ${(best * 1e6 / floats).toFixed(3)} ns per float per thread`);
}
device.destroy();
