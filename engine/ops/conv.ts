// conv2d and convTranspose2d (PyTorch semantics, NCHW), each with its backward beside it. Both
// directions are one implicit-GEMM gather (the grad-input of each op is the other op's forward)
// and one chunked weight-gradient GEMM: engine/ops/conv-kernels.ts, shaders/conv_*.wgsl.

import { isRecording, record } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { convolutionWeightGradient, gatherConvolution, weightGradSwap, type ConvActivation, type GatherGeometry } from './conv-kernels.ts';
import { leakyReluGradient, tanhGradient } from './elementwise.ts';
import { gatherVariant, weightGradVariant } from './conv-autotune.ts';
import { reduceOuterInner } from './reduce.ts';
import { concatChannels } from './layout.ts';
import { keepInF32, saveActivation, withActivation } from './half-storage.ts';

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** Extra rows and columns at the bottom/right of the output (PyTorch `output_padding`). */
  outputPadding?: number;
}

/**
 * An activation applied as the conv stores its outputs ('tanh': the generators' last layer;
 * `{ leakyRelu: slope }`: the discriminators' first), so the pre-activation is never written; backward
 * goes through it from the output, which for LeakyReLU needs a positive slope. `{ prelu: slope }` (one
 * learned slope) only where no gradient is recorded: a model's inference (models/batchnorm-layer.ts).
 */
export interface ConvActivationOption {
  activation?: ConvActivation;
}

function checkShapes(op: string, x: Tensor, weight: Tensor, bias: Tensor | null, inChannelAxis: 0 | 1): void {
  const problem = x.shape.length !== 4 ? 'x must be [N, C, H, W]'
    : weight.shape.length !== 4 ? 'weight must be 4-d'
    : weight.shape[inChannelAxis] !== x.shape[1] ? `weight ${shapeString(weight.shape)} does not take ${x.shape[1]} input channels`
    : bias && bias.size !== weight.shape[1 - inChannelAxis] ? `bias ${shapeString(bias.shape)} does not match ${weight.shape[1 - inChannelAxis]} output channels`
    : null;
  if (problem) throw new Error(`${op}: ${problem} (x ${shapeString(x.shape)}, weight ${shapeString(weight.shape)})`);
}

/** One gather with the variant chosen for its shape (engine/ops/conv-autotune.ts). */
function gather(x: Tensor, weight: Tensor, outputIsFirst: boolean, bias: Tensor | null, g: GatherGeometry, activation: ConvActivation = 'none'): Tensor {
  const variant = gatherVariant(x.engine, g);
  if (typeof activation !== 'object' || !('prelu' in activation)) return gatherConvolution(x, weight, outputIsFirst, bias, g, variant, activation);
  const biasAndSlope = packBiasAndSlope(bias, activation.prelu, g.outChannels);
  const out = gatherConvolution(x, weight, outputIsFirst, biasAndSlope, g, variant, activation);
  biasAndSlope.dispose();
  return out;
}

/** A fused PReLU's bias binding: the biases (zeros without any), then the slope (shaders/conv_epilogue.wgsl). */
function packBiasAndSlope(bias: Tensor | null, slope: Tensor, channels: number): Tensor {
  const engine = slope.engine;
  const biases = bias ? engine.view(bias, [1, channels, 1, 1]) : engine.fromArray(new Float32Array(channels), [1, channels, 1, 1], 'f32', 'zero bias');
  const slopeView = engine.view(slope, [1, 1, 1, 1]);
  const packed = concatChannels([biases, slopeView]);
  biases.dispose();
  slopeView.dispose();
  return packed;
}

function checkActivation(op: string, activation: ConvActivation, inputs: Array<Tensor | null>): void {
  if (typeof activation !== 'object') return;
  if ('prelu' in activation) {
    const slope = activation.prelu;
    if (slope.size !== 1) throw new Error(`${op}: a fused PReLU takes one slope, got ${shapeString(slope.shape)}`);
    if (isRecording(slope.engine) && [...inputs, slope].some((t) => t?.requiresGrad)) {
      throw new Error(`${op}: a fused PReLU is for inference (it has no backward); run it under noGrad`);
    }
  } else if (!(activation.leakyRelu > 0)) {
    throw new Error(`${op}: a fused LeakyReLU needs a positive slope (its gradient is taken from the output), got ${activation.leakyRelu}`);
  }
}

/** dy through the fused activation to the pre-activation, from the conv's output y. */
function activationGradient(activation: 'tanh' | { leakyRelu: number }, y: Tensor, dy: Tensor): Tensor {
  return activation === 'tanh' ? tanhGradient(y, dy) : leakyReluGradient(y, dy, activation.leakyRelu);
}

/**
 * Records a forward conv whose gradients `grads(dz)` take the gradient at the pre-activation: with an
 * activation fused in, dz is dy through it (from the saved output), freed once they are recorded.
 */
function recordConv(
  out: Tensor, inputs: Tensor[], name: string, activation: ConvActivation, saved: Tensor[], grads: (dz: Tensor) => Array<Tensor | null>,
): Tensor {
  if (activation === 'none') return record(out, inputs, name, grads, saved);
  // Never recorded (checkActivation refuses it where a gradient would be).
  if (typeof activation === 'object' && 'prelu' in activation) return out;
  // tanh's gradient 1 - y^2 loses its digits near saturation if y is kept in f16; LeakyReLU's needs only y's sign.
  const savedOut = activation === 'tanh' ? keepInF32(out) : saveActivation(out, inputs);
  const result = record(out, inputs, `${name}+${activation === 'tanh' ? 'tanh' : 'leakyRelu'}`, (dy) => {
    const dz = withActivation(savedOut, (y) => activationGradient(activation, y, dy));
    const gradients = grads(dz);
    dz.dispose();
    return gradients;
  }, [...saved, ...savedOut.stored]);
  savedOut.release();
  return result;
}

function weightGradient(gradient: Tensor, input: Tensor, kernelHeight: number, kernelWidth: number, stride: number, padding: number): Tensor {
  // Or the same sums with the sides swapped (see weightGradSwap), put back in place by the reduction.
  const swap = weightGradSwap(gradient.shape[1], input.shape[1], kernelHeight, kernelWidth, stride, padding, input.shape[3]);
  const [g, x, p] = swap ? [input, gradient, kernelHeight - 1 - padding] : [gradient, input, padding];
  const variant = weightGradVariant(g.engine, { gradientShape: [...g.shape], inputShape: [...x.shape], kernelHeight, kernelWidth, stride, padding: p });
  return convolutionWeightGradient(g, x, kernelHeight, kernelWidth, stride, p, variant, swap);
}

/** Bias gradient: dy [N, C, H, W] summed over everything but channels. */
function biasGradient(dy: Tensor): Tensor {
  const [batch, channels, height, width] = dy.shape;
  return reduceOuterInner(dy, batch, channels, height * width);
}

/** x: [N, Cin, H, W]; weight: [Cout, Cin, kH, kW]; bias: [Cout] -> [N, Cout, OH, OW]. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, { stride = 1, padding = 0, activation = 'none' }: Conv2dOptions & ConvActivationOption = {}): Tensor {
  checkShapes('conv2d', x, weight, bias, 1);
  checkActivation('conv2d', activation, [x, weight, bias]);
  const [batch, inChannels, inHeight, inWidth] = x.shape;
  const [outChannels, , kernelHeight, kernelWidth] = weight.shape;
  const outHeight = Math.floor((inHeight + 2 * padding - kernelHeight) / stride) + 1;
  const outWidth = Math.floor((inWidth + 2 * padding - kernelWidth) / stride) + 1;
  if (outHeight < 1 || outWidth < 1) throw new Error(`conv2d: input ${shapeString(x.shape)} is smaller than the kernel`);
  const out = gather(x, weight, true, bias, {
    batch, inChannels, inHeight, inWidth, outChannels, outHeight, outWidth, kernelHeight, kernelWidth, stride, padding, transposed: false,
  }, activation);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  // x is read only by the weight gradient: kept only when the weight takes one (a frozen model's forward keeps none).
  const savedX = weight.requiresGrad ? saveActivation(x, inputs) : null;
  const result = recordConv(out, inputs, 'conv2d', activation, savedX ? [...savedX.stored, weight] : [weight], (dy) => [
    x.requiresGrad ? conv2dGradInput(dy, weight, x.shape, { stride, padding }) : null,
    savedX ? withActivation(savedX, (input) => conv2dGradWeight(dy, input, weight.shape, { stride, padding })) : null,
    bias?.requiresGrad ? biasGradient(dy) : null,
  ]);
  savedX?.release();
  return result;
}

/** conv2d's dx [N, Cin, H, W]: a convTranspose2d of dy with the same weight, cut to x's size. */
export function conv2dGradInput(dy: Tensor, weight: Tensor, xShape: readonly number[], { stride = 1, padding = 0 }: Conv2dOptions): Tensor {
  const [batch, outChannels, outHeight, outWidth] = dy.shape;
  const [, inChannels, inHeight, inWidth] = xShape;
  const [, , kernelHeight, kernelWidth] = weight.shape;
  return gather(dy, weight, false, null, {
    batch, inChannels: outChannels, inHeight: outHeight, inWidth: outWidth, outChannels: inChannels, outHeight: inHeight, outWidth: inWidth,
    kernelHeight, kernelWidth, stride, padding, transposed: true,
  });
}

/** conv2d's dW [Cout, Cin, kH, kW]. */
export function conv2dGradWeight(dy: Tensor, x: Tensor, weightShape: readonly number[], { stride = 1, padding = 0 }: Conv2dOptions): Tensor {
  return weightGradient(dy, x, weightShape[2], weightShape[3], stride, padding);
}

/** x: [N, Cin, H, W]; weight: [Cin, Cout, kH, kW]; bias: [Cout] -> [N, Cout, OH, OW]. */
export function convTranspose2d(
  x: Tensor, weight: Tensor, bias: Tensor | null, { stride = 1, padding = 0, outputPadding = 0, activation = 'none' }: ConvTranspose2dOptions & ConvActivationOption = {},
): Tensor {
  checkShapes('convTranspose2d', x, weight, bias, 0);
  checkActivation('convTranspose2d', activation, [x, weight, bias]);
  if (outputPadding >= stride) throw new Error(`convTranspose2d: outputPadding ${outputPadding} must be smaller than stride ${stride}`);
  const [batch, inChannels, inHeight, inWidth] = x.shape;
  const [, outChannels, kernelHeight, kernelWidth] = weight.shape;
  const outHeight = (inHeight - 1) * stride - 2 * padding + kernelHeight + outputPadding;
  const outWidth = (inWidth - 1) * stride - 2 * padding + kernelWidth + outputPadding;
  if (outHeight < 1 || outWidth < 1) throw new Error(`convTranspose2d: padding ${padding} leaves no output for ${shapeString(x.shape)}`);
  const out = gather(x, weight, false, bias, {
    batch, inChannels, inHeight, inWidth, outChannels, outHeight, outWidth, kernelHeight, kernelWidth, stride, padding, transposed: true,
  }, activation);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  // x is read only by the weight gradient: kept only when the weight takes one (a frozen model's forward keeps none).
  const savedX = weight.requiresGrad ? saveActivation(x, inputs) : null;
  const result = recordConv(out, inputs, 'convTranspose2d', activation, savedX ? [...savedX.stored, weight] : [weight], (dy) => [
    x.requiresGrad ? convTranspose2dGradInput(dy, weight, x.shape, { stride, padding }) : null,
    savedX ? withActivation(savedX, (input) => convTranspose2dGradWeight(dy, input, weight.shape, { stride, padding })) : null,
    bias?.requiresGrad ? biasGradient(dy) : null,
  ]);
  savedX?.release();
  return result;
}

/** convTranspose2d's dx [N, Cin, H, W]: a conv2d of dy with the weight read as [Cout' = Cin, Cin' = Cout, kH, kW]. */
export function convTranspose2dGradInput(dy: Tensor, weight: Tensor, xShape: readonly number[], { stride = 1, padding = 0 }: Conv2dOptions): Tensor {
  const [batch, outChannels, outHeight, outWidth] = dy.shape;
  const [, inChannels, inHeight, inWidth] = xShape;
  const [, , kernelHeight, kernelWidth] = weight.shape;
  return gather(dy, weight, true, null, {
    batch, inChannels: outChannels, inHeight: outHeight, inWidth: outWidth, outChannels: inChannels, outHeight: inHeight, outWidth: inWidth,
    kernelHeight, kernelWidth, stride, padding, transposed: false,
  });
}

/** convTranspose2d's dW [Cin, Cout, kH, kW]: x plays the gathering side, dy the window side. */
export function convTranspose2dGradWeight(dy: Tensor, x: Tensor, weightShape: readonly number[], { stride = 1, padding = 0 }: Conv2dOptions): Tensor {
  return weightGradient(x, dy, weightShape[2], weightShape[3], stride, padding);
}
