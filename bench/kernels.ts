// Kernel benchmark: forward, grad-input and grad-weight of the GAN / SRGAN conv layers, median
// milliseconds and GFLOP/s (2 x multiply-adds). `--only G2,D2` picks layers, `--json FILE` writes
// the figures, `--repeats N` sets dispatches per timed batch. Results: bench/RESULTS.md.

import { writeFileSync } from 'node:fs';
import { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import {
  conv2d, conv2dGradInput, conv2dGradWeight, convTranspose2d, convTranspose2dGradInput, convTranspose2dGradWeight,
} from '../engine/ops/conv.ts';

interface Layer {
  name: string;
  transposed: boolean;
  batch: number;
  inChannels: number;
  outChannels: number;
  inSize: number;
  kernel: number;
  stride: number;
  padding: number;
}

const gan = { batch: 16, kernel: 4, stride: 2, padding: 1 };
const sr = { batch: 4, kernel: 3, stride: 1, padding: 1, inSize: 128, transposed: false };
const layers: Layer[] = [
  { name: 'G1', transposed: true, inChannels: 512, outChannels: 256, inSize: 8, ...gan },
  { name: 'G2', transposed: true, inChannels: 256, outChannels: 128, inSize: 16, ...gan },
  { name: 'G3', transposed: true, inChannels: 128, outChannels: 64, inSize: 32, ...gan },
  { name: 'G4', transposed: true, inChannels: 64, outChannels: 1, inSize: 64, ...gan },
  { name: 'D1', transposed: false, inChannels: 1, outChannels: 64, inSize: 128, ...gan },
  { name: 'D2', transposed: false, inChannels: 64, outChannels: 128, inSize: 64, ...gan },
  { name: 'D3', transposed: false, inChannels: 128, outChannels: 256, inSize: 32, ...gan },
  { name: 'S1', inChannels: 64, outChannels: 64, ...sr },
  { name: 'U1', inChannels: 64, outChannels: 256, ...sr },
];

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** Deterministic values in [-1, 1) (a small LCG: the figures must not depend on the data). */
function filled(engine: Engine, shape: number[], seed: number): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  let state = seed >>> 0;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = state / 2 ** 31 - 1;
  }
  return engine.fromArray(data, shape, 'f32', 'bench');
}

/** Median wall time of one call, timing batches of `repeats` calls between GPU syncs. */
async function time(engine: Engine, repeats: number, fn: () => Tensor): Promise<number> {
  engine.tidy(fn);
  await engine.sync();
  const samples: number[] = [];
  for (let run = 0; run < 5; run++) {
    const start = performance.now();
    for (let i = 0; i < repeats; i++) engine.tidy(fn);
    await engine.sync();
    samples.push((performance.now() - start) / repeats);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

async function main(): Promise<void> {
  const only = argument('--only')?.split(',');
  const jsonPath = argument('--json');
  const repeats = Number(argument('--repeats') ?? 1);
  const engine = await Engine.create();
  const adapter = engine.describe();
  console.log(`adapter: ${adapter}`);
  console.log('layer  shape                          GFLOP   fwd ms  GFLOP/s    dx ms  GFLOP/s    dw ms  GFLOP/s');
  const results = [];
  for (const layer of layers.filter((l) => !only || only.includes(l.name))) {
    const { batch, inChannels, outChannels, inSize, kernel, stride, padding } = layer;
    const outSize = layer.transposed ? (inSize - 1) * stride - 2 * padding + kernel : Math.floor((inSize + 2 * padding - kernel) / stride) + 1;
    const x = filled(engine, [batch, inChannels, inSize, inSize], 1);
    const weight = filled(engine, layer.transposed ? [inChannels, outChannels, kernel, kernel] : [outChannels, inChannels, kernel, kernel], 2);
    const dy = filled(engine, [batch, outChannels, outSize, outSize], 3);
    const options = { stride, padding };
    // Useful multiply-adds: every (input pixel, tap, output pixel) pair that exists, times channels.
    const macs = (layer.transposed ? batch * inSize * inSize : batch * outSize * outSize) * kernel * kernel * inChannels * outChannels * usefulTapFraction(layer, outSize);
    const gflop = (2 * macs) / 1e9;
    const fwd = await time(engine, repeats, () => layer.transposed ? convTranspose2d(x, weight, null, options) : conv2d(x, weight, null, options));
    const dx = await time(engine, repeats, () => layer.transposed ? convTranspose2dGradInput(dy, weight, x.shape, options) : conv2dGradInput(dy, weight, x.shape, options));
    const dw = await time(engine, repeats, () => layer.transposed ? convTranspose2dGradWeight(dy, x, weight.shape, options) : conv2dGradWeight(dy, x, weight.shape, options));
    const rate = (ms: number) => (gflop / (ms / 1e3)).toFixed(2).padStart(8);
    const shape = `${layer.transposed ? 'convT' : 'conv'} ${inChannels}->${outChannels} ${inSize}->${outSize} k${kernel}s${stride}p${padding} b${batch}`;
    console.log(`${layer.name.padEnd(6)} ${shape.padEnd(30)} ${gflop.toFixed(3).padStart(6)} ${fwd.toFixed(2).padStart(8)} ${rate(fwd)} ${dx.toFixed(2).padStart(8)} ${rate(dx)} ${dw.toFixed(2).padStart(8)} ${rate(dw)}`);
    results.push({ name: layer.name, gflop, engine: { fwd_ms: fwd, dx_ms: dx, dw_ms: dw } });
    for (const t of [x, weight, dy]) t.dispose();
  }
  if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ adapter, layers: results }, null, 2));
  engine.destroy();
}

/** Fraction of kernel taps that land inside the input at the borders (padding costs nothing useful). */
function usefulTapFraction(layer: Layer, outSize: number): number {
  const { kernel, stride, padding, transposed, inSize } = layer;
  const gatherSize = transposed ? inSize : outSize;
  const windowSize = transposed ? outSize : inSize;
  let inside = 0;
  for (let g = 0; g < gatherSize; g++) {
    for (let k = 0; k < kernel; k++) {
      const w = g * stride - padding + k;
      if (w >= 0 && w < windowSize) inside++;
    }
  }
  const fraction = inside / (gatherSize * kernel);
  return fraction * fraction;
}

await main();
