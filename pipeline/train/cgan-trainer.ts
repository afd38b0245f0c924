// One CGAN training step as in the paper (eqs. 2-4): D maximises log D(x|y) + log(1 - D(G(z|y)|y)),
// G minimises -log D(G(z|y)|y); BCE-with-logits, Adam (2e-4, betas 0.5/0.999), labels uniform.
// Optionally (`ema` > 0) an average of G's weights draws the samples and is what weights.safetensors holds,
// and (`mismatch` > 0) D also learns to call real images with a wrong label fake (the matching-aware
// discriminator of Reed et al. 2016), which ties G's classes to their labels.

import type { Engine } from '../../engine/runtime.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { detach, clearTape, noGrad } from '../../engine/autograd.ts';
import { backward } from '../../engine/ops/backward.ts';
import { add, scale, sigmoid } from '../../engine/ops/elementwise.ts';
import { mean } from '../../engine/ops/reduce.ts';
import { bceWithLogits, constantTarget } from '../../engine/ops/losses.ts';
import { randomNormal } from '../../engine/ops/random.ts';
import { disposeParts, ganParts, weightTensors } from './checkpoint.ts';
import { WeightAverage } from './weight-average.ts';
import type { Module } from '../../models/module.ts';
import type { SafetensorsInput } from '../../engine/io/safetensors.ts';
import { RandomStream, hashKeys } from '../../engine/host-random.ts';
import { CganDiscriminator, CganGenerator, cganImageSize, type CganConfig } from '../../models/cgan.ts';
import type { Batch } from '../data/batches.ts';
import type { GreyImage } from '../data/image.ts';
import { gridFromBatch } from './images.ts';
import type { GanTrainer, StepMetrics } from './trainer.ts';

export interface CganTrainerOptions {
  config: CganConfig;
  seed: number;
  lr: number;
  betas: [number, number];
  /** Decay of the generator weight average; 0 for none (the paper's recipe). */
  ema: number;
  /** Weight of D's loss on real images with wrong labels; 0 for none (the paper's recipe). */
  mismatch: number;
}

const SAMPLES_PER_CLASS = 6;
const LABEL_STREAM = 0x1abe1;
const MISMATCH_STREAM = 0x1abe2;
/** The weight average's BatchNorm statistics: 16 passes at the sample grid's batch size (288 draws). */
const STATISTICS_BATCHES = 16;
const STATISTICS_STREAM = 0x57a7;

export class CganTrainer implements GanTrainer {
  readonly generator: CganGenerator;
  readonly discriminator: CganDiscriminator;
  readonly parts;
  readonly checkpointModules: Module[];
  /** The generator weight average, when options.ema > 0. */
  private readonly average: WeightAverage | null;
  readonly batchOptions = { mode: 'lr' as const };
  private readonly sampleZ: Tensor;
  private readonly sampleLabels: Tensor;

  constructor(readonly engine: Engine, readonly options: CganTrainerOptions) {
    const { config, seed } = options;
    this.generator = new CganGenerator(engine, config);
    this.discriminator = new CganDiscriminator(engine, config);
    this.generator.initialize(seed);
    this.discriminator.initialize(seed);
    this.parts = ganParts(this.generator, this.discriminator, { lr: options.lr, betas: options.betas });
    this.average = options.ema > 0 ? new WeightAverage(this.generator, new CganGenerator(engine, config, 'generator_ema'), options.ema) : null;
    this.checkpointModules = this.average ? [this.average.average] : [];
    // Fixed sample inputs from their own host stream, so grids are comparable across a run and its resumes.
    const count = config.numClasses * SAMPLES_PER_CLASS;
    const random = new RandomStream(seed, 0x5a3b1e);
    this.sampleZ = engine.keep(engine.fromArray(Float32Array.from({ length: count * config.zDim }, () => random.normal()), [count, config.zDim], 'f32', 'samples.z'));
    this.sampleLabels = engine.keep(engine.fromArray(Int32Array.from({ length: count }, (_, i) => Math.floor(i / SAMPLES_PER_CLASS)), [count], 'i32', 'samples.labels'));
  }

  async step(batch: Batch, step: number): Promise<StepMetrics> {
    const engine = this.engine;
    const { config } = this.options;
    const n = batch.labels.length;
    const [optimizerG, optimizerD] = this.parts.map((p) => p.optimizer);
    const fakeLabelValues = Int32Array.from({ length: n }, (_, i) => hashKeys(this.options.seed, LABEL_STREAM, step, i) % config.numClasses);
    const outputs = engine.tidy(() => {
      const real = engine.fromArray(batch.lr, batch.lrShape, 'f32', 'batch.real');
      const labels = engine.fromArray(batch.labels, [n], 'i32', 'batch.labels');
      const fakeLabels = engine.fromArray(fakeLabelValues, [n], 'i32', 'batch.fakeLabels');
      const ones = constantTarget(engine, [n], 1);
      const zeros = constantTarget(engine, [n], 0);
      const fake = this.generator.forward(randomNormal(engine, [n, config.zDim]), fakeLabels, true);

      this.discriminator.params.zeroGrad();
      const realLogits = this.discriminator.forward(real, labels, true);
      const fakeLogits = this.discriminator.forward(detach(fake), fakeLabels, true);
      let lossD = add(bceWithLogits(realLogits, ones), bceWithLogits(fakeLogits, zeros));
      if (this.options.mismatch > 0) {
        // Each real image with one of the other labels, drawn uniformly.
        const wrong = Int32Array.from(batch.labels, (label, i) => (label + 1 + (hashKeys(this.options.seed, MISMATCH_STREAM, step, i) % (config.numClasses - 1))) % config.numClasses);
        const mismatchLogits = this.discriminator.forward(real, engine.fromArray(wrong, [n], 'i32', 'batch.wrongLabels'), true);
        lossD = add(lossD, scale(bceWithLogits(mismatchLogits, zeros), this.options.mismatch));
      }
      backward(lossD);
      optimizerD.step();

      this.generator.params.zeroGrad();
      // D is a constant of G's loss: its weight gradients would only be zeroed before D's next update.
      const [lossG, fooledLogits] = this.discriminator.params.frozen(() => {
        const logits = this.discriminator.forward(fake, fakeLabels, true);
        const loss = bceWithLogits(logits, ones);
        backward(loss);
        return [loss, logits];
      });
      optimizerG.step();
      this.average?.update(step);
      clearTape(engine);
      return noGrad(engine, () => [lossD, lossG, mean(sigmoid(realLogits)), mean(sigmoid(fakeLogits)), mean(sigmoid(fooledLogits))]);
    });
    const values = await engine.read(outputs);
    for (const tensor of outputs) tensor.dispose();
    const [lossD, lossG, dReal, dFake, dFooled] = values.map((v) => v[0]);
    return { loss_d: lossD, loss_g: lossG, d_real: dReal, d_fake: dFake, d_fake_after: dFooled };
  }

  /** The averaged generator (under the generator's names) when there is one, and the discriminator. */
  async weights(): Promise<SafetensorsInput[]> {
    if (!this.average) return weightTensors([this.generator, this.discriminator]);
    return [...(await (await this.samplingGenerator()).stateDict('generator')), ...(await this.discriminator.stateDict())];
  }

  /** G, or its weight average with BatchNorm statistics of its own (drawn from a fixed host stream). */
  private async samplingGenerator(): Promise<CganGenerator> {
    if (!this.average) return this.generator;
    const { config, seed } = this.options;
    const random = new RandomStream(seed, STATISTICS_STREAM);
    const count = config.numClasses * SAMPLES_PER_CLASS;
    const average = await this.average.ready(STATISTICS_BATCHES, (generator) => {
      const z = this.engine.fromArray(Float32Array.from({ length: count * config.zDim }, () => random.normal()), [count, config.zDim], 'f32', 'statistics.z');
      return (generator as CganGenerator).forward(z, this.sampleLabels, true);
    });
    return average as CganGenerator;
  }

  async sampleGrid(): Promise<GreyImage> {
    const engine = this.engine;
    const generator = await this.samplingGenerator();
    const images = engine.tidy(() => noGrad(engine, () => generator.forward(this.sampleZ, this.sampleLabels, false)));
    const [pixels] = await engine.read([images]);
    images.dispose();
    return gridFromBatch(pixels as Float32Array, cganImageSize(this.options.config), this.options.config.numClasses, SAMPLES_PER_CLASS);
  }

  syntheticBatch(batchSize: number): Batch {
    const size = cganImageSize(this.options.config);
    return {
      epoch: 0, step: 0,
      lr: new Float32Array(batchSize * size * size), lrShape: [batchSize, 1, size, size],
      labels: new Int32Array(batchSize), indices: new Int32Array(batchSize),
    };
  }

  dispose(): void {
    disposeParts(this.parts);
    this.average?.average.dispose();
    this.sampleZ.dispose();
    this.sampleLabels.dispose();
  }
}
