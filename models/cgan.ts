// The conditional GAN of ../shared/ARCHITECTURE.md: G(z, y) -> 1xSxS in [-1, 1] from transposed
// convolutions, and D(x, y) -> logit from strided convolutions, both conditioned on the label
// through an embedding. Sizes come from a config: `paper` is the spec, `tiny` is for tests.

import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import { convTranspose2d, conv2d } from '../engine/ops/conv.ts';
import { dropout } from '../engine/ops/random.ts';
import { concatChannels, embedding, reshape } from '../engine/ops/layout.ts';
import { Module, batchNormSpecs, constant, normal, parameter, type TensorSpec } from './module.ts';
import { runLayers, type Layer } from './layer-sequence.ts';
import { convBatchNorm } from './batchnorm-layer.ts';

export interface CganConfig {
  numClasses: number;
  zDim: number;
  embedDim: number;
  /** Output channels of generator blocks 0..; the image is 4 * 2^blocks pixels square. */
  generatorChannels: number[];
  /** Output channels of discriminator blocks 0..; block 0 has no BN and no dropout. */
  discriminatorChannels: number[];
  dropout: number;
  slope: number;
}

export const cganConfigs = {
  paper: { numClasses: 3, zDim: 100, embedDim: 50, generatorChannels: [512, 256, 128, 64, 32], discriminatorChannels: [32, 64, 128, 256, 512], dropout: 0.3, slope: 0.2 },
  small: { numClasses: 3, zDim: 100, embedDim: 50, generatorChannels: [256, 128, 64, 32, 16], discriminatorChannels: [16, 32, 64, 128, 256], dropout: 0.3, slope: 0.2 },
  /** Paper layout at 1/8 of the channels: the learning check that fits a 2-core CPU budget. */
  mini: { numClasses: 3, zDim: 100, embedDim: 50, generatorChannels: [64, 32, 16, 8, 8], discriminatorChannels: [8, 8, 16, 32, 64], dropout: 0.3, slope: 0.2 },
  tiny: { numClasses: 3, zDim: 8, embedDim: 4, generatorChannels: [16, 8, 8, 4, 4], discriminatorChannels: [4, 4, 8, 8, 16], dropout: 0.3, slope: 0.2 },
} satisfies Record<string, CganConfig>;

export function cganImageSize(config: CganConfig): number {
  return 4 * 2 ** config.generatorChannels.length;
}

const weightInit = normal(0, 0.02);

export function generatorSpecs(config: CganConfig): TensorSpec[] {
  const specs = [parameter('label_embed.weight', [config.numClasses, config.embedDim], normal(0, 1))];
  let inChannels = config.zDim + config.embedDim;
  config.generatorChannels.forEach((channels, i) => {
    specs.push(parameter(`blocks.${i}.deconv.weight`, [inChannels, channels, 4, 4], weightInit), ...batchNormSpecs(`blocks.${i}.bn`, channels));
    inChannels = channels;
  });
  specs.push(parameter('to_image.weight', [inChannels, 1, 4, 4], weightInit), parameter('to_image.bias', [1], constant(0)));
  return specs;
}

export function discriminatorSpecs(config: CganConfig): TensorSpec[] {
  const size = cganImageSize(config);
  const specs = [parameter('label_embed.weight', [config.numClasses, size * size], normal(0, 1))];
  let inChannels = 2;
  config.discriminatorChannels.forEach((channels, i) => {
    specs.push(parameter(`blocks.${i}.conv.weight`, [channels, inChannels, 4, 4], weightInit));
    if (i === 0) specs.push(parameter('blocks.0.conv.bias', [channels], constant(0)));
    else specs.push(...batchNormSpecs(`blocks.${i}.bn`, channels));
    inChannels = channels;
  });
  specs.push(parameter('to_logit.weight', [1, inChannels, 4, 4], weightInit), parameter('to_logit.bias', [1], constant(0)));
  return specs;
}

export class CganGenerator extends Module {
  /** `prefix` names its tensors in files: another copy (a weight average) lives beside it under its own. */
  constructor(engine: Engine, readonly config: CganConfig, prefix = 'generator') {
    super(engine, prefix, generatorSpecs(config));
  }

  /** z: [N, zDim], labels: i32 [N] -> images [N, 1, S, S] in [-1, 1]. */
  forward(z: Tensor, labels: Tensor, training: boolean): Tensor {
    const n = z.shape[0];
    const embedded = embedding(labels, this.tensor('label_embed.weight'));
    const input = concatChannels([reshape(z, [n, this.config.zDim, 1, 1]), reshape(embedded, [n, this.config.embedDim, 1, 1])]);
    const blocks: Layer[] = this.config.generatorChannels.map((_, i) => (h) => {
      const [stride, padding] = i === 0 ? [1, 0] : [2, 1];
      const layer = { weight: this.tensor(`blocks.${i}.deconv.weight`), bias: null, stride, padding, transposed: true };
      return convBatchNorm(this, `blocks.${i}.bn`, h, layer, training, { leakyRelu: this.config.slope });
    });
    // tanh applied by the conv as it stores the image (one pass and one image-sized tensor fewer).
    const toImage: Layer = (h) => convTranspose2d(h, this.tensor('to_image.weight'), this.tensor('to_image.bias'), { stride: 2, padding: 1, activation: 'tanh' });
    return runLayers(input, [...blocks, toImage]);
  }
}

export class CganDiscriminator extends Module {
  constructor(engine: Engine, readonly config: CganConfig) {
    super(engine, 'discriminator', discriminatorSpecs(config));
  }

  /** images: [N, 1, S, S], labels: i32 [N] -> logits [N]. */
  forward(images: Tensor, labels: Tensor, training: boolean): Tensor {
    const [n, , size] = images.shape;
    const labelMap = reshape(embedding(labels, this.tensor('label_embed.weight')), [n, 1, size, size]);
    const blocks: Layer[] = this.config.discriminatorChannels.map((_, i) => (h) => {
      const weight = this.tensor(`blocks.${i}.conv.weight`);
      // Block 0 has no BatchNorm: its LeakyReLU goes into the conv's stores.
      if (i === 0) return conv2d(h, weight, this.tensor('blocks.0.conv.bias'), { stride: 2, padding: 1, activation: { leakyRelu: this.config.slope } });
      const normalised = convBatchNorm(this, `blocks.${i}.bn`, h, { weight, bias: null, stride: 2, padding: 1 }, training, { leakyRelu: this.config.slope });
      return dropout(normalised, this.config.dropout, training);
    });
    const toLogit: Layer = (h) => conv2d(h, this.tensor('to_logit.weight'), this.tensor('to_logit.bias'), { stride: 1, padding: 0 });
    return reshape(runLayers(concatChannels([images, labelMap]), [...blocks, toLogit]), [n]);
  }
}
