// Element-wise ops (add, mul, affine maps, activations), each with its backward beside it.
// WGSL: shaders/elementwise.wgsl.

import { kernel, type Kernel } from '../kernel.ts';
import { record } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { linearGrid } from './grid.ts';
import { preluWeightGradient, sumToShape } from './reduce.ts';
import { saveActivation, withActivation } from './half-storage.ts';

const kernels = {
  add: kernel('elementwise', 'add'),
  addInPlace: kernel('elementwise', 'add_inplace'),
  averageInPlace: kernel('elementwise', 'average_inplace'),
  mul: kernel('elementwise', 'mul'),
  axpby: kernel('elementwise', 'axpby'),
  affine: kernel('elementwise', 'affine'),
  fill: kernel('elementwise', 'fill'),
  leakyRelu: kernel('elementwise', 'leaky_relu'),
  leakyReluBackward: kernel('elementwise', 'leaky_relu_backward'),
  prelu: kernel('elementwise', 'prelu'),
  preluBackward: kernel('elementwise', 'prelu_backward'),
  preluWeightTerms: kernel('elementwise', 'prelu_weight_terms'),
  tanh: kernel('elementwise', 'tanh_forward'),
  tanhBackward: kernel('elementwise', 'tanh_backward'),
  sigmoid: kernel('elementwise', 'sigmoid_forward'),
  sigmoidBackward: kernel('elementwise', 'sigmoid_backward'),
};

/** shaders/elementwise_vec4.wgsl: the maps of elementwise_maps.wgsl over vec4s, for sizes that are a multiple of 4. */
const vec4Kernels = new Map(['add', 'mul', 'add_inplace', 'average_inplace', 'fill', 'axpby', 'affine', 'leaky_relu', 'leaky_relu_backward', 'prelu', 'prelu_backward',
  'prelu_weight_terms', 'tanh_backward'].map((entry) => [entry, kernel('elementwise_vec4', entry)]));

/** `k`, or its vec4 twin where there is one and `size` allows; and the count of elements (or vec4s) it runs over. */
function launch(k: Kernel, size: number): { kernel: Kernel; count: number } {
  const vec4 = size > 0 && size % 4 === 0 ? vec4Kernels.get(k.entry) : undefined;
  return vec4 ? { kernel: vec4, count: size / 4 } : { kernel: k, count: size };
}

/** Runs one element-wise kernel over `like`'s elements into a new tensor of its shape. */
function map(k: Kernel, like: Tensor, inputs: { a?: Tensor; b?: Tensor; c?: Tensor }, alpha = 0, beta = 0, name = k.entry): Tensor {
  const out = like.engine.empty(like.shape, 'f32', name);
  const buffers: Record<string, Tensor> = { out };
  for (const [key, tensor] of Object.entries(inputs)) if (tensor) buffers[key] = tensor;
  const { kernel: chosen, count } = launch(k, like.size);
  like.engine.run(chosen, {
    buffers,
    params: { count, alpha, beta },
    workgroups: linearGrid(count),
    label: `${name} ${shapeString(like.shape)}`,
    bytes: like.size * 4 * (Object.keys(buffers).length),
  });
  return out;
}

function sameShape(a: Tensor, b: Tensor, op: string): void {
  if (a.size !== b.size) throw new Error(`${op}: shapes ${shapeString(a.shape)} and ${shapeString(b.shape)} differ`);
}

export function add(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'add');
  const out = map(kernels.add, a, { a, b }, 0, 0, 'add');
  // dy itself (a view: autograd disposes dy after the backward) to a, a copy to b only when a has one too:
  // two gradients must not share storage, since a leaf's is added into later. A residual block's skip
  // connection copied an activation-sized tensor per add before.
  return record(out, [a, b], 'add', (dy) => {
    const gradA = a.requiresGrad ? dy.engine.view(dy, dy.shape) : null;
    return [gradA, b.requiresGrad ? (gradA ? copy(dy) : dy.engine.view(dy, dy.shape)) : null];
  });
}

/** Runs one element-wise kernel that writes `target` in place (never recorded). */
function runInPlace(k: Kernel, target: Tensor, source: Tensor | null, alpha: number, beta: number, label: string): void {
  const { kernel: chosen, count } = launch(k, target.size);
  target.engine.run(chosen, {
    buffers: source ? { out: target, a: source } : { out: target },
    params: { count, alpha, beta },
    workgroups: linearGrid(count),
    label,
  });
}

/** target += addition, in place (never recorded). */
export function addInPlace(target: Tensor, addition: Tensor): void {
  sameShape(target, addition, 'addInPlace');
  runInPlace(kernels.addInPlace, target, addition, 0, 0, `addInPlace ${shapeString(target.shape)}`);
}

/** target = decay * target + (1 - decay) * source, in place (never recorded); decay 0 copies source exactly. */
export function movingAverageInPlace(target: Tensor, source: Tensor, decay: number): void {
  sameShape(target, source, 'movingAverageInPlace');
  runInPlace(kernels.averageInPlace, target, source, 1 - decay, decay, `movingAverageInPlace ${shapeString(target.shape)}`);
}

/** Sets every element of `target` to `value`, in place. */
export function fillInPlace(target: Tensor, value: number): void {
  runInPlace(kernels.fill, target, null, value, 0, 'fill');
}

export function mul(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'mul');
  const out = map(kernels.mul, a, { a, b }, 0, 0, 'mul');
  return record(out, [a, b], 'mul', (dy) => [a.requiresGrad ? mul(dy, b) : null, b.requiresGrad ? mul(dy, a) : null], [a, b]);
}

/** alpha * a + beta * b (no broadcasting). */
export function axpby(alpha: number, a: Tensor, beta: number, b: Tensor): Tensor {
  sameShape(a, b, 'axpby');
  const out = map(kernels.axpby, a, { a, b }, alpha, beta, 'axpby');
  return record(out, [a, b], 'axpby', (dy) => [a.requiresGrad ? scale(dy, alpha) : null, b.requiresGrad ? scale(dy, beta) : null]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  return axpby(1, a, -1, b);
}

/** alpha * x + beta. */
export function scale(x: Tensor, alpha: number, beta = 0): Tensor {
  const out = map(kernels.affine, x, { a: x }, alpha, beta, 'scale');
  return record(out, [x], 'scale', (dy) => [scale(dy, alpha)]);
}

export function copy(x: Tensor): Tensor {
  return map(kernels.affine, x, { a: x }, 1, 0, 'copy');
}

export function full(like: { engine: Tensor['engine']; shape: readonly number[] }, value: number, name = 'full'): Tensor {
  const out = like.engine.empty(like.shape, 'f32', name);
  fillInPlace(out, value);
  return out;
}

export function leakyRelu(x: Tensor, slope = 0.2): Tensor {
  const out = map(kernels.leakyRelu, x, { a: x }, slope, 0, 'leakyRelu');
  const savedX = saveActivation(x, [x]);
  const result = record(out, [x], 'leakyRelu', (dy) => [withActivation(savedX, (input) => leakyReluGradient(input, dy, slope))], [...savedX.stored]);
  savedX.release();
  return result;
}

/**
 * dy where x > 0, slope * dy elsewhere: the gradient through LeakyReLU, from its input x, or from its
 * output for a positive slope (same sign; a conv with LeakyReLU fused in).
 */
export function leakyReluGradient(x: Tensor, dy: Tensor, slope: number): Tensor {
  return map(kernels.leakyReluBackward, x, { a: x, b: dy }, slope, 0, 'leakyReluBackward');
}

/** PReLU with one learnable weight of shape [1]. */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  if (weight.size !== 1) throw new Error(`prelu: weight must have one element, got ${shapeString(weight.shape)}`);
  const out = map(kernels.prelu, x, { a: x, c: weight }, 0, 0, 'prelu');
  const savedX = saveActivation(x, [x, weight]);
  const result = record(out, [x, weight], 'prelu', (dy) => withActivation(savedX, (input) => {
    const dx = x.requiresGrad ? map(kernels.preluBackward, input, { a: input, b: dy, c: weight }, 0, 0, 'preluBackward') : null;
    let dw: Tensor | null = null;
    if (weight.requiresGrad) {
      dw = preluWeightGradient(input, dy);
      if (!dw) {
        const terms = map(kernels.preluWeightTerms, input, { a: input, b: dy }, 0, 0, 'preluWeightTerms');
        dw = sumToShape(terms, [1]);
        terms.dispose();
      }
    }
    return [dx, dw];
  }), [...savedX.stored, weight]);
  savedX.release();
  return result;
}

export function tanh(x: Tensor): Tensor {
  const out = map(kernels.tanh, x, { a: x }, 0, 0, 'tanh');
  return record(out, [x], 'tanh', (dy) => [tanhGradient(out, dy)], [out]);
}

/** dy * (1 - y^2): the gradient through y = tanh(x), from y (also for a conv with tanh fused in). */
export function tanhGradient(y: Tensor, dy: Tensor): Tensor {
  return map(kernels.tanhBackward, y, { a: y, b: dy }, 0, 0, 'tanhBackward');
}

export function sigmoid(x: Tensor): Tensor {
  const out = map(kernels.sigmoid, x, { a: x }, 0, 0, 'sigmoid');
  return record(out, [x], 'sigmoid', (dy) => [map(kernels.sigmoidBackward, out, { a: out, b: dy }, 0, 0, 'sigmoidBackward')], [out]);
}
