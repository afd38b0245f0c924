// The conv layers of the GAN / SRGAN that bench/kernels.ts times, with the helpers the engine and
// the TF.js comparator (bench/tfjs-conv.ts) share.

export interface Layer {
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
export const layers: Layer[] = [
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

export const outputSize = (l: Layer): number =>
  l.transposed ? (l.inSize - 1) * l.stride - 2 * l.padding + l.kernel : Math.floor((l.inSize + 2 * l.padding - l.kernel) / l.stride) + 1;

/** One layer's three passes, each a function that records its work (and disposes what it made). */
export interface Passes {
  fwd: () => void;
  dx: () => void;
  dw: () => void;
  dispose(): void;
}
export type PassName = 'fwd' | 'dx' | 'dw';
export const passNames: PassName[] = ['fwd', 'dx', 'dw'];

/** Deterministic values in [-1, 1) (a small LCG: the figures must not depend on the data). */
export function lcgValues(size: number, seed: number): Float32Array {
  const data = new Float32Array(size);
  let state = seed >>> 0;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = state / 2 ** 31 - 1;
  }
  return data;
}

/** Useful multiply-adds: every (input pixel, tap, output pixel) pair that exists, times channels. */
export function layerGflop(layer: Layer): number {
  const { batch, inChannels, outChannels, inSize, kernel, stride, padding, transposed } = layer;
  const outSize = outputSize(layer);
  const gatherSize = transposed ? inSize : outSize;
  const windowSize = transposed ? outSize : inSize;
  let inside = 0;
  for (let g = 0; g < gatherSize; g++) {
    for (let k = 0; k < kernel; k++) {
      const w = g * stride - padding + k;
      if (w >= 0 && w < windowSize) inside++;
    }
  }
  return (2 * batch * inside * inside * inChannels * outChannels) / 1e9;
}


type ConvOps = typeof import('../engine/ops/conv.ts');
type Engine = import('../engine/runtime.ts').Engine;
type Tensor = import('../engine/tensor.ts').Tensor;

/**
 * A layer's three passes on the engine, each a call returning its output, over inputs made once from
 * fixed seeds (x 1, weight 2, dy 3). `conv` is engine/ops/conv.ts, passed in so that bench/ab-trees.ts
 * can hand each checkout its own.
 */
export function engineCalls(conv: ConvOps, engine: Engine, layer: Layer): { calls: Record<PassName, () => Tensor>; dispose(): void } {
  const { batch, inChannels, outChannels, inSize, kernel, stride, padding, transposed } = layer;
  const filled = (shape: number[], seed: number) => engine.fromArray(lcgValues(shape.reduce((a, b) => a * b, 1), seed), shape, 'f32', 'bench');
  const x = filled([batch, inChannels, inSize, inSize], 1);
  const weightShape = transposed ? [inChannels, outChannels, kernel, kernel] : [outChannels, inChannels, kernel, kernel];
  const weight = filled(weightShape, 2);
  const dy = filled([batch, outChannels, outputSize(layer), outputSize(layer)], 3);
  const options = { stride, padding };
  return {
    calls: {
      fwd: () => (transposed ? conv.convTranspose2d(x, weight, null, options) : conv.conv2d(x, weight, null, options)),
      dx: () => (transposed ? conv.convTranspose2dGradInput(dy, weight, x.shape, options) : conv.conv2dGradInput(dy, weight, x.shape, options)),
      dw: () => (transposed ? conv.convTranspose2dGradWeight(dy, x, weightShape, options) : conv.conv2dGradWeight(dy, x, weightShape, options)),
    },
    dispose: () => [x, weight, dy].forEach((t) => t.dispose()),
  };
}
