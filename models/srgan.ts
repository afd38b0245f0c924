// The SRGAN of ../shared/ARCHITECTURE.md: an SRResNet generator (x4, one channel, residual trunk,
// pixel-shuffle upsampling) and a VGG-style discriminator ending in global average pooling.

import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import { conv2d } from '../engine/ops/conv.ts';
import type { ConvActivation } from '../engine/ops/conv-kernels.ts';
import { add, prelu } from '../engine/ops/elementwise.ts';
import { globalAvgPool, pixelShuffle, reshape } from '../engine/ops/layout.ts';
import { Module, batchNormSpecs, constant, fanInUniform, parameter, type TensorSpec } from './module.ts';
import { runLayers, type Layer } from './layer-sequence.ts';
import { convBatchNorm, foldsForInference, type ConvLayer } from './batchnorm-layer.ts';

export interface SrganConfig {
  channels: number;
  residualBlocks: number;
  /** Each upsampling block doubles the size (two blocks: x4). */
  upsampleBlocks: number;
  discriminatorChannels: number[];
  discriminatorHidden: number;
  slope: number;
}

export const srganConfigs = {
  paper: { channels: 64, residualBlocks: 16, upsampleBlocks: 2, discriminatorChannels: [64, 64, 128, 128, 256, 256, 512, 512], discriminatorHidden: 1024, slope: 0.2 },
  small: { channels: 32, residualBlocks: 8, upsampleBlocks: 2, discriminatorChannels: [32, 32, 64, 64, 128, 128], discriminatorHidden: 256, slope: 0.2 },
  tiny: { channels: 8, residualBlocks: 2, upsampleBlocks: 2, discriminatorChannels: [4, 4, 8, 8], discriminatorHidden: 16, slope: 0.2 },
} satisfies Record<string, SrganConfig>;

function convSpecs(name: string, cout: number, cin: number, k: number, bias: boolean): TensorSpec[] {
  const init = fanInUniform(cin * k * k);
  const specs = [parameter(`${name}.weight`, [cout, cin, k, k], init)];
  if (bias) specs.push(parameter(`${name}.bias`, [cout], init));
  return specs;
}

const preluSpec = (name: string) => parameter(name, [1], constant(0.25));

export function srGeneratorSpecs(config: SrganConfig): TensorSpec[] {
  const c = config.channels;
  const specs = [...convSpecs('head', c, 1, 9, true), preluSpec('head_act.weight')];
  for (let i = 0; i < config.residualBlocks; i++) {
    specs.push(...convSpecs(`res.${i}.conv1`, c, c, 3, true), ...batchNormSpecs(`res.${i}.bn1`, c, 0), preluSpec(`res.${i}.act.weight`));
    specs.push(...convSpecs(`res.${i}.conv2`, c, c, 3, true), ...batchNormSpecs(`res.${i}.bn2`, c, 0));
  }
  specs.push(...convSpecs('trunk.conv', c, c, 3, true), ...batchNormSpecs('trunk.bn', c, 0));
  for (let j = 0; j < config.upsampleBlocks; j++) specs.push(...convSpecs(`up.${j}.conv`, 4 * c, c, 3, true), preluSpec(`up.${j}.act.weight`));
  specs.push(...convSpecs('tail', 1, c, 9, true));
  return specs;
}

export function srDiscriminatorSpecs(config: SrganConfig): TensorSpec[] {
  const specs: TensorSpec[] = [];
  let inChannels = 1;
  config.discriminatorChannels.forEach((channels, k) => {
    specs.push(...convSpecs(`features.${k}.conv`, channels, inChannels, 3, k === 0));
    if (k > 0) specs.push(...batchNormSpecs(`features.${k}.bn`, channels, 0));
    inChannels = channels;
  });
  specs.push(...convSpecs('head.fc1', config.discriminatorHidden, inChannels, 1, true), ...convSpecs('head.fc2', 1, config.discriminatorHidden, 1, true));
  return specs;
}

const maybeShuffle = (x: Tensor, factor: number) => (factor === 1 ? x : pixelShuffle(x, factor));

export class SrGenerator extends Module {
  constructor(engine: Engine, readonly config: SrganConfig) {
    super(engine, 'generator', srGeneratorSpecs(config));
  }

  /** The stride-1 conv layer `name`. */
  private layer(name: string, padding: number): ConvLayer {
    return { weight: this.tensor(`${name}.weight`), bias: this.tensor(`${name}.bias`), stride: 1, padding };
  }

  private conv(name: string, x: Tensor, padding: number, activation: ConvActivation = 'none'): Tensor {
    return conv2d(x, this.tensor(`${name}.weight`), this.tensor(`${name}.bias`), { stride: 1, padding, activation });
  }

  /** PReLU `slope` of conv `name` (then pixel shuffled by `shuffle`): in inference, in the conv's stores. */
  private convPrelu(name: string, x: Tensor, padding: number, slope: Tensor, shuffle: number, inference: boolean): Tensor {
    // One slope for every channel: it commutes with the pixel shuffle.
    if (inference) return maybeShuffle(this.conv(name, x, padding, { prelu: slope }), shuffle);
    return prelu(maybeShuffle(this.conv(name, x, padding), shuffle), slope);
  }

  /** lr: [N, 1, h, w] in [-1, 1] -> [N, 1, 4h, 4w] in [-1, 1]. */
  forward(lr: Tensor, training: boolean): Tensor {
    const inference = foldsForInference(lr.engine, training);
    const head: Layer = (x) => this.convPrelu('head', x, 4, this.tensor('head_act.weight'), 1, inference);
    const residualBlocks = Array.from({ length: this.config.residualBlocks }, (_, i): Layer => (h) => {
      const r = convBatchNorm(this, `res.${i}.bn1`, h, this.layer(`res.${i}.conv1`, 1), training, { prelu: this.tensor(`res.${i}.act.weight`) });
      return add(h, convBatchNorm(this, `res.${i}.bn2`, r, this.layer(`res.${i}.conv2`, 1), training));
    });
    const trunk: Layer = (headOut) => add(headOut, convBatchNorm(this, 'trunk.bn', runLayers(headOut, residualBlocks), this.layer('trunk.conv', 1), training));
    const upsample = Array.from({ length: this.config.upsampleBlocks }, (_, j): Layer => (h) => this.convPrelu(`up.${j}.conv`, h, 1, this.tensor(`up.${j}.act.weight`), 2, inference));
    // tanh applied by the conv as it stores the image.
    const tail: Layer = (h) => this.conv('tail', h, 4, 'tanh');
    return runLayers(lr, [head, trunk, ...upsample, tail]);
  }
}

export class SrDiscriminator extends Module {
  constructor(engine: Engine, readonly config: SrganConfig) {
    super(engine, 'discriminator', srDiscriminatorSpecs(config));
  }

  /** images: [N, 1, H, W] (any size) -> logits [N]. */
  forward(images: Tensor, training: boolean): Tensor {
    const features: Layer[] = this.config.discriminatorChannels.map((_, k) => (h) => {
      const weight = this.tensor(`features.${k}.conv.weight`);
      const stride = k % 2 === 0 ? 1 : 2;
      // The first conv has no BatchNorm: its LeakyReLU goes into the conv's stores.
      if (k === 0) return conv2d(h, weight, this.tensor('features.0.conv.bias'), { stride, padding: 1, activation: { leakyRelu: this.config.slope } });
      return convBatchNorm(this, `features.${k}.bn`, h, { weight, bias: null, stride, padding: 1 }, training, { leakyRelu: this.config.slope });
    });
    const fused = { stride: 1, padding: 0, activation: { leakyRelu: this.config.slope } };
    const head: Layer = (h) => {
      const hidden = conv2d(globalAvgPool(h), this.tensor('head.fc1.weight'), this.tensor('head.fc1.bias'), fused);
      return conv2d(hidden, this.tensor('head.fc2.weight'), this.tensor('head.fc2.bias'), { stride: 1, padding: 0 });
    };
    return reshape(runLayers(images, [...features, head]), [images.shape[0]]);
  }
}
