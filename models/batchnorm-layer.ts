// BatchNorm2d as a layer of a Module: looks up its five tensors by name and counts batches; and the
// conv + BatchNorm (+ activation) blocks, which inference runs as one conv.

import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import { isRecording } from '../engine/autograd.ts';
import { batchNorm2d, batchNormActivation, type FusedActivation } from '../engine/ops/batchnorm.ts';
import { foldBatchNorm } from '../engine/ops/batchnorm-fold.ts';
import { conv2d, convTranspose2d } from '../engine/ops/conv.ts';
import { leakyRelu, prelu } from '../engine/ops/elementwise.ts';
import type { Module } from './module.ts';

/** Every BatchNorm's eps (PyTorch's default). */
const BATCHNORM_EPS = 1e-5;

/**
 * Whether an activation after a BN runs in the BN's passes (the default) or as its own op (the same
 * results bit for bit, the PReLU weight gradient up to summation order), and whether inference folds BNs
 * into convs (foldsForInference; the same up to float rounding). bench/fusion.ts and
 * bench/inference-fusion.ts switch them off to measure what fusion buys.
 */
export const layerFusion = { batchNormActivation: true, inferenceFolding: true };

/**
 * Whether a forward may fold its BatchNorms into the convs before them and apply activations in the
 * convs' stores: eval mode with nothing recorded on the tape (generation, evaluation).
 */
export function foldsForInference(engine: Engine, training: boolean): boolean {
  return !training && !isRecording(engine) && layerFusion.inferenceFolding;
}

/** BN, or act(BN) when an activation follows it. */
export function runBatchNorm(module: Module, name: string, x: Tensor, training: boolean, activation?: FusedActivation): Tensor {
  if (training) module.counters.set(`${name}.num_batches_tracked`, (module.counters.get(`${name}.num_batches_tracked`) ?? 0) + 1);
  const [weight, bias, runningMean, runningVar] = batchNormTensors(module, name);
  const options = { training, momentum: module.batchNormMomentum, eps: BATCHNORM_EPS };
  if (activation && layerFusion.batchNormActivation) return batchNormActivation(x, weight, bias, runningMean, runningVar, options, activation);
  const normalised = batchNorm2d(x, weight, bias, runningMean, runningVar, options);
  if (!activation) return normalised;
  return 'prelu' in activation ? prelu(normalised, activation.prelu) : leakyRelu(normalised, activation.leakyRelu);
}

function batchNormTensors(module: Module, name: string): [Tensor, Tensor, Tensor, Tensor] {
  return [`${name}.weight`, `${name}.bias`, `${name}.running_mean`, `${name}.running_var`].map((key) => module.tensor(key)) as [Tensor, Tensor, Tensor, Tensor];
}

/** A conv2d (or convTranspose2d) layer's tensors and geometry. */
export interface ConvLayer {
  weight: Tensor;
  bias: Tensor | null;
  stride: number;
  padding: number;
  transposed?: boolean;
}

/**
 * act(BN `name`(conv(x))). In inference (foldsForInference) one conv whose weight and bias have the BN
 * folded in (engine/ops/batchnorm-fold.ts) and whose stores apply the activation: no statistics pass,
 * no normalise pass, no pre-activation tensor. Otherwise the conv, then runBatchNorm.
 */
export function convBatchNorm(module: Module, name: string, x: Tensor, conv: ConvLayer, training: boolean, activation?: FusedActivation): Tensor {
  const op = conv.transposed ? convTranspose2d : conv2d;
  const options = { stride: conv.stride, padding: conv.padding };
  if (!foldsForInference(x.engine, training)) return runBatchNorm(module, name, op(x, conv.weight, conv.bias, options), training, activation);
  const [weight, bias, runningMean, runningVar] = batchNormTensors(module, name);
  const folded = foldBatchNorm(conv.weight, conv.bias, { weight, bias, runningMean, runningVar, eps: BATCHNORM_EPS }, conv.transposed ? 1 : 0);
  const out = op(x, folded.weight, folded.bias, { ...options, activation: activation ?? 'none' });
  folded.weight.dispose();
  folded.bias.dispose();
  return out;
}
