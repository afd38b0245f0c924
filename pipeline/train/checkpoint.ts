// Training checkpoints: model weights (PyTorch names), Adam moments (`optimizer.<model>.exp_avg`,
// `.exp_avg_sq`, flat) and the counters a resumed run needs (step, epoch, RNG counter, Adam steps)
// in one safetensors file, written atomically; the last K are kept.

import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../../engine/runtime.ts';
import type { Module } from '../../models/module.ts';
import { Adam } from '../../engine/optim/adam.ts';
import { readSafetensorsFile, writeSafetensorsFileAtomic } from '../../engine/io/safetensors-node.ts';
import { toFloat32, type SafetensorsFile, type SafetensorsInput } from '../../engine/io/safetensors.ts';
import { BadInputFileError } from '../../engine/errors.ts';

export const CHECKPOINT_FORMAT = 'xraygen-train-checkpoint-1';

export interface TrainingState {
  step: number;
  epoch: number;
  randomCounter: number;
}

export interface Trainable {
  name: string;
  module: Module;
  optimizer: Adam;
}

/** A GAN's two models, each with its own Adam, in checkpoint order. */
export function ganParts(generator: Module, discriminator: Module, adam: { lr: number; betas: [number, number] }): Trainable[] {
  return [
    { name: 'generator', module: generator, optimizer: new Adam(generator.params, adam) },
    { name: 'discriminator', module: discriminator, optimizer: new Adam(discriminator.params, adam) },
  ];
}

export function disposeParts(parts: Trainable[]): void {
  for (const part of parts) {
    part.optimizer.dispose();
    part.module.dispose();
  }
}

/** Model weights only (what `generate` needs), each module under its own prefix. */
export async function weightTensors(modules: Module[]): Promise<SafetensorsInput[]> {
  const all: SafetensorsInput[] = [];
  for (const module of modules) all.push(...(await module.stateDict()));
  return all;
}

/** `extra`: models saved without an optimizer (see GanTrainer.checkpointModules). */
export async function saveCheckpoint(path: string, engine: Engine, parts: Trainable[], state: TrainingState, config: object, extra: Module[] = []): Promise<void> {
  const tensors = await weightTensors([...parts.map((p) => p.module), ...extra]);
  const moments = await engine.read(parts.flatMap((p) => [p.optimizer.expAvg, p.optimizer.expAvgSq]));
  parts.forEach((part, i) => {
    tensors.push({ name: `optimizer.${part.name}.exp_avg`, dtype: 'F32', shape: [moments[2 * i].length], data: moments[2 * i] as Float32Array });
    tensors.push({ name: `optimizer.${part.name}.exp_avg_sq`, dtype: 'F32', shape: [moments[2 * i + 1].length], data: moments[2 * i + 1] as Float32Array });
  });
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    step: String(state.step),
    epoch: String(state.epoch),
    randomCounter: String(state.randomCounter),
    config: JSON.stringify(config),
  };
  for (const part of parts) metadata[`optimizer.${part.name}.step`] = String(part.optimizer.stepCount);
  await writeSafetensorsFileAtomic(path, tensors, metadata);
}

/** Restores weights, moments and counters; returns the training state to continue from. */
export async function loadCheckpoint(path: string, parts: Trainable[], extra: Module[] = []): Promise<TrainingState> {
  const file = await readSafetensorsFile(path);
  if (file.metadata.format !== CHECKPOINT_FORMAT) throw new BadInputFileError(path, `not a training checkpoint (format "${file.metadata.format ?? 'none'}")`);
  for (const part of parts) {
    part.module.loadStateDict(file);
    part.optimizer.loadState(moment(file, `optimizer.${part.name}.exp_avg`), moment(file, `optimizer.${part.name}.exp_avg_sq`), counter(file, `optimizer.${part.name}.step`));
  }
  for (const module of extra) module.loadStateDict(file);
  return { step: counter(file, 'step'), epoch: counter(file, 'epoch'), randomCounter: counter(file, 'randomCounter') };
}

function moment(file: SafetensorsFile, name: string): Float32Array {
  const entry = file.tensors.get(name);
  if (!entry) throw new BadInputFileError(file.fileName, `missing ${name}`);
  return Float32Array.from(toFloat32(entry, file.fileName));
}

function counter(file: SafetensorsFile, key: string): number {
  const value = Number(file.metadata[key]);
  if (!Number.isSafeInteger(value) || value < 0) throw new BadInputFileError(file.fileName, `metadata ${key} is not a counter`);
  return value;
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(7, '0')}.safetensors`;
}

/** Checkpoints in a run's checkpoints/ folder, oldest first. */
export function listCheckpoints(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => /^step-\d+\.safetensors$/.test(n)).sort().map((n) => join(dir, n));
}

export function pruneCheckpoints(dir: string, keep: number): void {
  const all = listCheckpoints(dir);
  for (const path of all.slice(0, Math.max(0, all.length - keep))) rmSync(path, { force: true });
}
