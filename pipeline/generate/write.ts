// Writes a generation job in the ChestX-ray8 layout: images/<Image Index> as 8-bit grey PNGs, a
// Data_Entry_2017.csv with the same columns, manifest.jsonl (file, class, seed, z index, D score,
// weights and their SHA-256), and optionally the raw tensors. The CSV and manifest are written last,
// atomically, so an interrupted job never looks complete.

import { mkdirSync, renameSync, writeFileSync, accessSync, constants, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputFileError } from '../../engine/errors.ts';
import { writeSafetensorsFileAtomic } from '../../engine/io/safetensors-node.ts';
import { chestXray8CsvHeader } from '../data/csv.ts';
import { findingNames, type LabelId } from '../data/labels.ts';
import { encodeGreyPng } from '../data/png.ts';
import { imageFromBatch } from '../train/images.ts';
import type { GeneratedImage } from './sample.ts';
import type { LoadedWeights } from './weights.ts';

/** "synthetic patient" ids: the image index; one image per patient, follow-up 0. */
export function imageIndexName(index: number): string {
  return `${String(index + 1).padStart(8, '0')}_000.png`;
}

/** Creates the output folder and proves it is writable before any GPU work. */
export function prepareOutputDir(out: string): void {
  try {
    mkdirSync(join(out, 'images'), { recursive: true });
    const probe = join(out, `.write-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
    accessSync(out, constants.W_OK);
  } catch (error) {
    throw new BadInputFileError(out, `output directory is not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

export interface WriteOptions {
  out: string;
  seed: number;
  weights: LoadedWeights;
  srWeights: LoadedWeights | null;
  saveTensors?: string;
}

export async function writeGeneration(images: GeneratedImage[], options: WriteOptions): Promise<void> {
  const { out } = options;
  const rows: string[] = [chestXray8CsvHeader];
  const manifest: string[] = [];
  for (const image of images) {
    const name = imageIndexName(image.index);
    const pixels = image.image512 ?? image.image128;
    const size = Math.round(Math.sqrt(pixels.length));
    const target = join(out, 'images', name);
    writeFileSync(`${target}.tmp`, encodeGreyPng(imageFromBatch(pixels, 0, size)));
    renameSync(`${target}.tmp`, target);
    rows.push([name, findingNames[image.label as LabelId], 0, image.index + 1, '', '', 'PA', size, size, '', ''].join(','));
    manifest.push(JSON.stringify({
      file: `images/${name}`, class: findingNames[image.label as LabelId], label: image.label, seed: options.seed, z_index: image.index, attempt: image.attempt,
      d_score: image.dScore, d_logit: image.dLogit, size,
      weights: options.weights.path, weights_sha256: options.weights.sha256,
      sr_weights: options.srWeights?.path ?? null, sr_weights_sha256: options.srWeights?.sha256 ?? null,
    }));
  }
  if (options.saveTensors) await writeTensors(options.saveTensors, images);
  writeAtomic(join(out, 'manifest.jsonl'), manifest.map((line) => `${line}\n`).join(''));
  writeAtomic(join(out, 'Data_Entry_2017.csv'), `${rows.join('\n')}\n`);
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

async function writeTensors(path: string, images: GeneratedImage[]): Promise<void> {
  const n = images.length;
  const concat = (parts: Float32Array[]) => {
    const all = new Float32Array(parts.reduce((total, p) => total + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      all.set(part, offset);
      offset += part.length;
    }
    return all;
  };
  const zDim = images[0]?.z.length ?? 0;
  const low = images[0] ? Math.round(Math.sqrt(images[0].image128.length)) : 0;
  const tensors = [
    { name: 'z', dtype: 'F32' as const, shape: [n, zDim], data: concat(images.map((i) => i.z)) },
    { name: 'labels', dtype: 'I64' as const, shape: [n], data: BigInt64Array.from(images.map((i) => BigInt(i.label))) },
    { name: 'images_128', dtype: 'F32' as const, shape: [n, 1, low, low], data: concat(images.map((i) => i.image128)) },
    { name: 'd_logits', dtype: 'F32' as const, shape: [n], data: Float32Array.from(images.map((i) => i.dLogit)) },
  ];
  if (images.length && images.every((i) => i.image512)) {
    const high = Math.round(Math.sqrt(images[0].image512!.length));
    tensors.push({ name: 'images_512', dtype: 'F32', shape: [n, 1, high, high], data: concat(images.map((i) => i.image512!)) });
  }
  await writeSafetensorsFileAtomic(path, tensors);
}
