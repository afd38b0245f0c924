// A small CNN that sorts 128x128 chest X-rays into the three classes, used to score generated
// images (conditional accuracy, Fréchet distance in its feature space, diversity). Stride-2 3x3
// convolutions with BatchNorm and LeakyReLU, global average pooling to the feature vector, then a
// linear layer to the logits. Sizes come from a config, like the GANs.

import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import { globalAvgPool, reshape } from '../engine/ops/layout.ts';
import { linear } from '../engine/ops/matmul.ts';
import { dropout } from '../engine/ops/random.ts';
import { Module, batchNormSpecs, constant, fanInUniform, normal, parameter, type TensorSpec } from './module.ts';
import { runLayers, type Layer } from './layer-sequence.ts';
import { convBatchNorm } from './batchnorm-layer.ts';

export interface ClassifierConfig {
  numClasses: number;
  /** Output channels of blocks 0..; each block halves the image side. */
  channels: number[];
  /** Dropout on the pooled features while training. */
  dropout: number;
  slope: number;
}

export const classifierConfigs = {
  default: { numClasses: 3, channels: [8, 16, 32, 64, 64], dropout: 0.2, slope: 0.2 },
  tiny: { numClasses: 3, channels: [4, 8], dropout: 0, slope: 0.2 },
} satisfies Record<string, ClassifierConfig>;

/** Length of the penultimate feature vector (the space the Fréchet distance is measured in). */
export function classifierFeatureSize(config: ClassifierConfig): number {
  return config.channels[config.channels.length - 1];
}

export function classifierSpecs(config: ClassifierConfig): TensorSpec[] {
  const specs: TensorSpec[] = [];
  let inChannels = 1;
  config.channels.forEach((channels, i) => {
    // He-style std for LeakyReLU keeps activations from shrinking block after block at init.
    specs.push(parameter(`blocks.${i}.conv.weight`, [channels, inChannels, 3, 3], normal(0, Math.sqrt(2 / (9 * inChannels)))));
    specs.push(...batchNormSpecs(`blocks.${i}.bn`, channels, 0));
    inChannels = channels;
  });
  specs.push(parameter('fc.weight', [config.numClasses, inChannels], fanInUniform(inChannels)), parameter('fc.bias', [config.numClasses], constant(0)));
  return specs;
}

export interface ClassifierOutput {
  /** [N, numClasses] */
  logits: Tensor;
  /** [N, featureSize]: the pooled activations before the last layer. */
  features: Tensor;
}

export class Classifier extends Module {
  constructor(engine: Engine, readonly config: ClassifierConfig) {
    super(engine, 'classifier', classifierSpecs(config));
  }

  /** images: [N, 1, S, S] in [-1, 1] -> logits and features. */
  forward(images: Tensor, training: boolean): ClassifierOutput {
    const n = images.shape[0];
    const blocks: Layer[] = this.config.channels.map((_, i) => (h) => {
      const layer = { weight: this.tensor(`blocks.${i}.conv.weight`), bias: null, stride: 2, padding: 1 };
      return convBatchNorm(this, `blocks.${i}.bn`, h, layer, training, { leakyRelu: this.config.slope });
    });
    const features = reshape(globalAvgPool(runLayers(images, blocks)), [n, classifierFeatureSize(this.config)]);
    const logits = linear(dropout(features, this.config.dropout, training), this.tensor('fc.weight'), this.tensor('fc.bias'));
    return { logits, features };
  }
}
