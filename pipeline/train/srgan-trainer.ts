// SRGAN training: a pixel-MSE pre-training phase (SRResNet), then adversarial fine-tuning with
// loss_G = MSE(SR, HR) + 1e-3 * BCE(D(SR), real); Adam 1e-4, betas (0.9, 0.999).

import type { Engine } from '../../engine/runtime.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { clearTape, detach, noGrad } from '../../engine/autograd.ts';
import { backward } from '../../engine/ops/backward.ts';
import { add, axpby, scale, sigmoid } from '../../engine/ops/elementwise.ts';
import { mean } from '../../engine/ops/reduce.ts';
import { bceWithLogits, constantTarget, mse } from '../../engine/ops/losses.ts';
import { disposeParts, ganParts, weightTensors } from './checkpoint.ts';
import type { Module } from '../../models/module.ts';
import type { SafetensorsInput } from '../../engine/io/safetensors.ts';
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
  /** Images per forward/backward pass; smaller than the batch means gradient accumulation. */
  microBatch?: number;
  /** Fixed LR inputs for sample grids: [K, 1, h, w] in [-1, 1], with their HR counterparts. */
  samples: { lr: Float32Array; hr: Float32Array; count: number; lrSize: number };
}

export class SrganTrainer implements GanTrainer {
  readonly generator: SrGenerator;
  readonly discriminator: SrDiscriminator;
  readonly parts;
  readonly checkpointModules: Module[] = [];
  readonly batchOptions;

  constructor(readonly engine: Engine, readonly options: SrganTrainerOptions) {
    this.generator = new SrGenerator(engine, options.config);
    this.discriminator = new SrDiscriminator(engine, options.config);
    this.generator.initialize(options.seed);
    this.discriminator.initialize(options.seed);
    this.parts = ganParts(this.generator, this.discriminator, { lr: options.lr, betas: options.betas });
    this.batchOptions = { mode: 'pairs' as const, hrCrop: options.hrCrop };
  }

  async step(batch: Batch, step: number): Promise<StepMetrics> {
    const adversarial = step >= this.options.pretrainSteps;
    const micro = this.options.microBatch ?? batch.labels.length;
    const values = micro >= batch.labels.length ? await this.wholeBatchStep(batch, adversarial) : await this.microBatchStep(batch, adversarial, micro);
    if (!adversarial) return { loss_mse: values[0] };
    const [lossMse, lossG, lossD, dReal, dFake] = values;
    return { loss_mse: lossMse, loss_g: lossG, loss_d: lossD, d_real: dReal, d_fake: dFake };
  }

  /** The textbook step: one G forward shared by the D and G updates. Returns the metric values in step()'s order. */
  private async wholeBatchStep(batch: Batch, adversarial: boolean): Promise<number[]> {
    const engine = this.engine;
    const [optimizerG, optimizerD] = this.parts.map((p) => p.optimizer);
    const outputs = engine.tidy(() => {
      const { lr, hr } = this.upload(batch);
      const sr = this.generator.forward(lr, true);
      const pixelLoss = mse(sr, hr);
      if (!adversarial) {
        this.generator.params.zeroGrad();
        backward(pixelLoss);
        optimizerG.step();
        return [pixelLoss];
      }
      this.discriminator.params.zeroGrad();
      const [lossD, realLogits, fakeLogits] = this.discriminatorLoss(hr, detach(sr));
      backward(lossD);
      optimizerD.step();
      this.generator.params.zeroGrad();
      // D is a constant of G's loss (no weight gradients for it here; ParameterGroup.frozen).
      const lossG = this.discriminator.params.frozen(() => {
        const loss = this.generatorLoss(sr, pixelLoss);
        backward(loss);
        return loss;
      });
      optimizerG.step();
      clearTape(engine);
      return noGrad(engine, () => [pixelLoss, lossG, lossD, mean(sigmoid(realLogits)), mean(sigmoid(fakeLogits))]);
    });
    const values = (await engine.read(outputs)).map((v) => v[0]);
    for (const tensor of outputs) tensor.dispose();
    return values;
  }

  /**
   * The same update with gradients accumulated over micro-batches, so whole 128 -> 512 images fit
   * the memory budget: D's update first (over every micro-batch), then G's, recomputing SR = G(lr)
   * per micro-batch. Losses are weighted by micro-batch size, so the gradients are those of the
   * batch mean; BatchNorm normalises with each micro-batch's statistics.
   */
  private async microBatchStep(batch: Batch, adversarial: boolean, micro: number): Promise<number[]> {
    const engine = this.engine;
    const [optimizerG, optimizerD] = this.parts.map((p) => p.optimizer);
    const pieces = splitBatch(batch, micro);
    const n = batch.labels.length;
    const metrics: Tensor[][] = [];
    if (adversarial) {
      this.discriminator.params.zeroGrad();
      for (const piece of pieces) {
        metrics.push(engine.tidy(() => {
          const { lr, hr } = this.upload(piece);
          const sr = noGrad(engine, () => this.generator.forward(lr, true));
          const [lossD, realLogits, fakeLogits] = this.discriminatorLoss(hr, sr);
          backward(scale(lossD, piece.labels.length / n));
          return noGrad(engine, () => [lossD, mean(sigmoid(realLogits)), mean(sigmoid(fakeLogits))]);
        }));
      }
      optimizerD.step();
    }
    this.generator.params.zeroGrad();
    pieces.forEach((piece, k) => {
      const kept = engine.tidy(() => {
        const { lr, hr } = this.upload(piece);
        const sr = this.generator.forward(lr, true);
        const pixelLoss = mse(sr, hr);
        const lossG = this.discriminator.params.frozen(() => {
          const loss = adversarial ? this.generatorLoss(sr, pixelLoss) : pixelLoss;
          backward(scale(loss, piece.labels.length / n));
          return loss;
        });
        clearTape(engine);
        return [pixelLoss, lossG];
      });
      metrics[k] = [...kept, ...(metrics[k] ?? [])];
    });
    optimizerG.step();
    const read = await engine.read(metrics.flat());
    for (const tensor of metrics.flat()) tensor.dispose();
    // Per-piece [mse, lossG, (lossD, dReal, dFake)], averaged with the pieces' sizes as weights.
    const width = adversarial ? 5 : 1;
    const totals = new Array<number>(width).fill(0);
    pieces.forEach((piece, k) => {
      for (let j = 0; j < width; j++) totals[j] += (read[k * (adversarial ? 5 : 2) + j][0] * piece.labels.length) / n;
    });
    return totals;
  }

  private upload(piece: Pick<Batch, 'lr' | 'lrShape' | 'hr' | 'hrShape'>): { lr: Tensor; hr: Tensor } {
    return {
      lr: this.engine.fromArray(piece.lr, piece.lrShape, 'f32', 'batch.lr'),
      hr: this.engine.fromArray(piece.hr!, piece.hrShape!, 'f32', 'batch.hr'),
    };
  }

  /** BCE(D(hr), real) + BCE(D(sr), fake), with the logits for the D(x) / D(G(z)) metrics. */
  private discriminatorLoss(hr: Tensor, sr: Tensor): [Tensor, Tensor, Tensor] {
    const n = hr.shape[0];
    const realLogits = this.discriminator.forward(hr, true);
    const fakeLogits = this.discriminator.forward(sr, true);
    const lossD = add(bceWithLogits(realLogits, constantTarget(this.engine, [n], 1)), bceWithLogits(fakeLogits, constantTarget(this.engine, [n], 0)));
    return [lossD, realLogits, fakeLogits];
  }

  /** MSE(SR, HR) + weight * BCE(D(SR), real). */
  private generatorLoss(sr: Tensor, pixelLoss: Tensor): Tensor {
    const fooledLogits = this.discriminator.forward(sr, true);
    const real = constantTarget(this.engine, [sr.shape[0]], 1);
    return axpby(1, pixelLoss, this.options.adversarialWeight, bceWithLogits(fooledLogits, real));
  }

  /** Rows: LR input upscaled by SR, next to the HR target. */
  weights(): Promise<SafetensorsInput[]> {
    return weightTensors([this.generator, this.discriminator]);
  }

  async sampleGrid(): Promise<GreyImage> {
    const engine = this.engine;
    const { samples } = this.options;
    const hrSize = samples.lrSize * 4;
    const pairs = new Float32Array(2 * samples.count * hrSize * hrSize);
    // One sample per pass: whole 512 px images reach the storage binding limit in twos.
    const lrArea = samples.lrSize * samples.lrSize;
    const hrArea = hrSize * hrSize;
    for (let i = 0; i < samples.count; i++) {
      const sr = engine.tidy(() => noGrad(engine, () => {
        const lr = engine.fromArray(samples.lr.subarray(i * lrArea, (i + 1) * lrArea), [1, 1, samples.lrSize, samples.lrSize], 'f32', 'samples.lr');
        return this.generator.forward(lr, false);
      }));
      const [pixels] = await engine.read([sr]);
      sr.dispose();
      pairs.set(pixels as Float32Array, 2 * i * hrArea);
      pairs.set(samples.hr.subarray(i * hrArea, (i + 1) * hrArea), (2 * i + 1) * hrArea);
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
    disposeParts(this.parts);
  }
}

/** Consecutive slices of a batch with at most `size` images each. */
function splitBatch(batch: Batch, size: number): Array<Pick<Batch, 'lr' | 'lrShape' | 'hr' | 'hrShape' | 'labels'>> {
  const n = batch.labels.length;
  const [, , lrSide] = batch.lrShape;
  const [, , hrSide] = batch.hrShape!;
  const pieces = [];
  for (let start = 0; start < n; start += size) {
    const count = Math.min(size, n - start);
    pieces.push({
      lr: batch.lr.subarray(start * lrSide * lrSide, (start + count) * lrSide * lrSide),
      lrShape: [count, 1, lrSide, lrSide] as Batch['lrShape'],
      hr: batch.hr!.subarray(start * hrSide * hrSide, (start + count) * hrSide * hrSide),
      hrShape: [count, 1, hrSide, hrSide] as Batch['lrShape'],
      labels: batch.labels.subarray(start, start + count),
    });
  }
  return pieces;
}
