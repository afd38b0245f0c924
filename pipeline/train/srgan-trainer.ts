// SRGAN training: a pixel-MSE pre-training phase (SRResNet), then adversarial fine-tuning with
// loss_G = MSE(SR, HR) + 1e-3 * BCE(D(SR), real); Adam 1e-4, betas (0.9, 0.999).

import type { Engine } from '../../engine/runtime.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { clearTape, detach, noGrad } from '../../engine/autograd.ts';
import { backward } from '../../engine/ops/backward.ts';
import { add, axpby, full, sigmoid } from '../../engine/ops/elementwise.ts';
import { mean } from '../../engine/ops/reduce.ts';
import { bceWithLogits, mse } from '../../engine/ops/losses.ts';
import { Adam } from '../../engine/optim/adam.ts';
import { SrDiscriminator, SrGenerator, type SrganConfig } from '../../models/srgan.ts';
import type { Batch } from '../data/batches.ts';
import type { GreyImage } from '../data/image.ts';
import { gridFromBatch } from './images.ts';
import type { GanTrainer, StepMetrics } from './trainer.ts';

export interface SrganTrainerOptions {
  config: SrganConfig;
  seed: number;
  lr: number;
  betas: [number, number];
  /** Steps of MSE-only pre-training before the adversarial phase. */
  pretrainSteps: number;
  adversarialWeight: number;
  /** HR crop side (LR is a quarter); 0 = whole 512/128 images. */
  hrCrop: number;
  /** Fixed LR inputs for sample grids: [K, 1, h, w] in [-1, 1], with their HR counterparts. */
  samples: { lr: Float32Array; hr: Float32Array; count: number; lrSize: number };
}

export class SrganTrainer implements GanTrainer {
  readonly generator: SrGenerator;
  readonly discriminator: SrDiscriminator;
  readonly parts;
  readonly weightModules;
  readonly batchOptions;
  private readonly sampleLr: Tensor;

  constructor(readonly engine: Engine, readonly options: SrganTrainerOptions) {
    this.generator = new SrGenerator(engine, options.config);
    this.discriminator = new SrDiscriminator(engine, options.config);
    this.generator.initialize(options.seed);
    this.discriminator.initialize(options.seed);
    const adam = { lr: options.lr, betas: options.betas };
    this.parts = [
      { name: 'generator', module: this.generator, optimizer: new Adam(this.generator.params, adam) },
      { name: 'discriminator', module: this.discriminator, optimizer: new Adam(this.discriminator.params, adam) },
    ];
    this.weightModules = [this.generator, this.discriminator];
    this.batchOptions = { mode: 'pairs' as const, hrCrop: options.hrCrop };
    const { samples } = options;
    this.sampleLr = engine.keep(engine.fromArray(samples.lr, [samples.count, 1, samples.lrSize, samples.lrSize], 'f32', 'samples.lr'));
  }

  async step(batch: Batch, step: number): Promise<StepMetrics> {
    const engine = this.engine;
    const adversarial = step >= this.options.pretrainSteps;
    const [optimizerG, optimizerD] = this.parts.map((p) => p.optimizer);
    const n = batch.labels.length;
    const outputs = engine.tidy(() => {
      const lr = engine.fromArray(batch.lr, batch.lrShape, 'f32', 'batch.lr');
      const hr = engine.fromArray(batch.hr!, batch.hrShape!, 'f32', 'batch.hr');
      const sr = this.generator.forward(lr, true);
      const pixelLoss = mse(sr, hr);
      if (!adversarial) {
        this.generator.params.zeroGrad();
        backward(pixelLoss);
        optimizerG.step();
        return [pixelLoss];
      }
      const ones = full({ engine, shape: [n] }, 1, 'targets.real');
      const zeros = full({ engine, shape: [n] }, 0, 'targets.fake');
      this.discriminator.params.zeroGrad();
      const realLogits = this.discriminator.forward(hr, true);
      const fakeLogits = this.discriminator.forward(detach(sr), true);
      const lossD = add(bceWithLogits(realLogits, ones), bceWithLogits(fakeLogits, zeros));
      backward(lossD);
      optimizerD.step();

      this.generator.params.zeroGrad();
      const fooledLogits = this.discriminator.forward(sr, true);
      const lossG = axpby(1, pixelLoss, this.options.adversarialWeight, bceWithLogits(fooledLogits, ones));
      backward(lossG);
      optimizerG.step();
      clearTape(engine);
      return noGrad(engine, () => [pixelLoss, lossG, lossD, mean(sigmoid(realLogits)), mean(sigmoid(fakeLogits))]);
    });
    const values = (await engine.read(outputs)).map((v) => v[0]);
    for (const tensor of outputs) tensor.dispose();
    if (!adversarial) return { loss_mse: values[0] };
    const [lossMse, lossG, lossD, dReal, dFake] = values;
    return { loss_mse: lossMse, loss_g: lossG, loss_d: lossD, d_real: dReal, d_fake: dFake };
  }

  /** Rows: LR input upscaled by SR, next to the HR target. */
  async sampleGrid(): Promise<GreyImage> {
    const engine = this.engine;
    const { samples } = this.options;
    const sr = engine.tidy(() => noGrad(engine, () => this.generator.forward(this.sampleLr, false)));
    const [pixels] = await engine.read([sr]);
    sr.dispose();
    const hrSize = samples.lrSize * 4;
    const pairs = new Float32Array(2 * samples.count * hrSize * hrSize);
    for (let i = 0; i < samples.count; i++) {
      pairs.set((pixels as Float32Array).subarray(i * hrSize * hrSize, (i + 1) * hrSize * hrSize), 2 * i * hrSize * hrSize);
      pairs.set(samples.hr.subarray(i * hrSize * hrSize, (i + 1) * hrSize * hrSize), (2 * i + 1) * hrSize * hrSize);
    }
    return gridFromBatch(pairs, hrSize, samples.count, 2);
  }

  syntheticBatch(batchSize: number): Batch {
    const lrSize = this.options.hrCrop === 0 ? 128 : this.options.hrCrop / 4;
    const hrSize = lrSize * 4;
    return {
      epoch: 0, step: 0,
      lr: new Float32Array(batchSize * lrSize * lrSize), lrShape: [batchSize, 1, lrSize, lrSize],
      hr: new Float32Array(batchSize * hrSize * hrSize), hrShape: [batchSize, 1, hrSize, hrSize],
      labels: new Int32Array(batchSize), indices: new Int32Array(batchSize),
    };
  }

  dispose(): void {
    for (const part of this.parts) {
      part.optimizer.dispose();
      part.module.dispose();
    }
    this.sampleLr.dispose();
  }
}
