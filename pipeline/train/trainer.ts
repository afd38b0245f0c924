// What the training loop needs from a GAN trainer (CGAN or SRGAN), whatever its losses.

import type { Engine } from '../../engine/runtime.ts';
import type { Batch, BatchOptions } from '../data/batches.ts';
import type { GreyImage } from '../data/image.ts';
import type { Module } from '../../models/module.ts';
import type { SafetensorsInput } from '../../engine/io/safetensors.ts';
import type { Trainable } from './checkpoint.ts';

export type StepMetrics = Record<string, number>;

export interface GanTrainer {
  readonly engine: Engine;
  /** Models with their optimizers, in checkpoint order. */
  readonly parts: Trainable[];
  /** Models saved in checkpoints beside `parts` but not optimised (a weight average). */
  readonly checkpointModules: Module[];
  /** What RUN/weights.safetensors holds: the models `generate` loads, under their spec names. */
  weights(): Promise<SafetensorsInput[]>;
  /** How the data is batched for this trainer (mode, crops). */
  readonly batchOptions: Omit<BatchOptions, 'batchSize' | 'seed'>;
  /** Runs one optimisation step on a batch and returns its losses and scores (one readback). */
  step(batch: Batch, step: number): Promise<StepMetrics>;
  /** The fixed-input sample grid for this point of training. */
  sampleGrid(): Promise<GreyImage>;
  /** A batch of the right shapes filled with zeros, for dry runs. */
  syntheticBatch(batchSize: number): Batch;
  dispose(): void;
}
