// The Node half of the browser test: tiny weights trained at test time (like test/generate.test.ts),
// copied into a weights folder for the server, and the CLI `generate` output to compare against.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensorsFile, writeSafetensorsFileAtomic } from '../../engine/io/safetensors-node.ts';
import { toBigInt64, toFloat32, type SafetensorsInput } from '../../engine/io/safetensors.ts';
import { runGenerate, type GenerateOptions } from '../../pipeline/generate/job.ts';
import { quantize } from '../../pipeline/train/images.ts';
import { runTraining } from '../../pipeline/train/loop.ts';
import type { TrainOptions } from '../../pipeline/train/setup.ts';
import { phantomCache } from '../helpers/phantom-cache.ts';

/**
 * Output layers scaled up. Two training steps leave G's last layer near its N(0, 0.02) init, so every
 * image is one flat grey and every D score 0.4997: comparing those would prove nothing. Scaled, the
 * images span the grey range and the D scores spread, while the weights stay the trained ones.
 */
export const contrastBoost: Array<[RegExp, number]> = [
  [/^generator\.blocks\.\d+\.deconv\.weight$/, 4],
  [/^generator\.to_image\.weight$/, 1000],
  [/^discriminator\.blocks\.\d+\.conv\.weight$/, 4],
  [/^discriminator\.to_logit\.weight$/, 100],
  [/^generator\.tail\.weight$/, 10],
];

export async function writeBoosted(source: string, target: string): Promise<void> {
  const file = await readSafetensorsFile(source);
  const tensors: SafetensorsInput[] = [...file.tensors.values()].map((tensor) => {
    if (tensor.dtype === 'I64') return { name: tensor.name, dtype: 'I64', shape: tensor.shape, data: toBigInt64(tensor, source) };
    const values = Float32Array.from(toFloat32(tensor, source));
    const factor = contrastBoost.find(([pattern]) => pattern.test(tensor.name))?.[1] ?? 1;
    return { name: tensor.name, dtype: 'F32', shape: tensor.shape, data: factor === 1 ? values : values.map((v) => v * factor) };
  });
  await writeSafetensorsFileAtomic(target, tensors, file.metadata);
}

/** Trains tiny CGAN and SRGAN weights (2 steps) and puts them, boosted, in `root/weights/` as cgan/srgan.safetensors. */
export async function trainTinyWeights(root: string): Promise<string> {
  const data = await phantomCache();
  for (const model of ['cgan', 'srgan'] as const) {
    const options: TrainOptions = {
      model, data, out: join(root, model), config: 'tiny', steps: 2, batch: 4, seed: 1, vramBytes: 2 ** 30,
      resume: false, sampleEvery: 100, checkpointEvery: 100, keepCheckpoints: 1, dryRun: false, fullImage: false, pretrainSteps: 1,
      phantomCount: 0, log: () => {}, plain: true,
    };
    await runTraining(options);
  }
  const weightsDir = join(root, 'weights');
  mkdirSync(weightsDir, { recursive: true });
  await writeBoosted(join(root, 'cgan', 'weights.safetensors'), join(weightsDir, 'cgan.safetensors'));
  await writeBoosted(join(root, 'srgan', 'weights.safetensors'), join(weightsDir, 'srgan.safetensors'));
  return weightsDir;
}

export interface NodeImages {
  /** Image indices kept, ascending, and the try that kept each. */
  indices: number[];
  attempts: number[];
  /** Quantised grey levels of each kept image, in index order. */
  pixels: Uint8Array[];
  dScores: number[];
  seconds: number;
}

/** `xraygen generate` with these options; the images as the PNGs quantise them, from --save-tensors. */
export async function nodeGenerate(root: string, weightsDir: string, options: Pick<GenerateOptions, 'className' | 'count' | 'seed' | 'threshold' | 'sr'> & { maxTries?: number }): Promise<NodeImages> {
  const name = `node-${options.className}-${options.seed}-${options.threshold}-${options.maxTries ?? 20}-${options.sr ? 'sr' : 'lr'}`;
  const tensorsPath = join(root, `${name}.safetensors`);
  const began = performance.now();
  const summary = await runGenerate({
    weights: join(weightsDir, 'cgan.safetensors'), srWeights: join(weightsDir, 'srgan.safetensors'),
    maxTries: 20, batch: 16, out: join(root, name), saveTensors: tensorsPath, ...options,
  });
  const seconds = (performance.now() - began) / 1000;
  if (summary.written === 0) return { indices: [], attempts: [], pixels: [], dScores: [], seconds };
  const manifest = readFileSync(join(root, name, 'manifest.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { z_index: number; attempt: number });
  const file = await readSafetensorsFile(tensorsPath);
  const images = file.tensors.get(options.sr ? 'images_512' : 'images_128')!;
  const values = toFloat32(images, tensorsPath);
  const area = images.shape[2] * images.shape[3];
  const pixels = Array.from({ length: images.shape[0] }, (_, i) => Uint8Array.from(values.subarray(i * area, (i + 1) * area), quantize));
  const logits = toFloat32(file.tensors.get('d_logits')!, tensorsPath);
  return { indices: manifest.map((entry) => entry.z_index), attempts: manifest.map((entry) => entry.attempt), pixels, dScores: Array.from(logits, (logit) => 1 / (1 + Math.exp(-logit))), seconds };
}
