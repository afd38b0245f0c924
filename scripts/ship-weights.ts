// Copies a training run's weights into the file shipped with the repository: F32 tensors stored as
// F16 (half the size; generation reads them back as F32), optionally without the discriminator.
//
//   npx tsx scripts/ship-weights.ts RUN/weights.safetensors models/weights/cgan.safetensors
//   npx tsx scripts/ship-weights.ts RUN/weights.safetensors models/weights/srgan.safetensors --generator-only

import { Command } from 'commander';
import { readSafetensorsFile, writeSafetensorsFileAtomic } from '../engine/io/safetensors-node.ts';
import type { SafetensorsInput } from '../engine/io/safetensors.ts';
import { toBigInt64, toFloat32 } from '../engine/io/safetensors.ts';

const program = new Command('scripts/ship-weights.ts')
  .argument('<source>', 'a training run\'s weights.safetensors')
  .argument('<target>', 'the shipped file to write')
  .option('--generator-only', 'leave out the discriminator')
  .parse();
const [source, target] = program.args as [string, string];
const { generatorOnly } = program.opts<{ generatorOnly?: boolean }>();
const file = await readSafetensorsFile(source);
const keep = (name: string) => !generatorOnly || name.startsWith('generator.');
const tensors: SafetensorsInput[] = [...file.tensors.values()].filter((t) => keep(t.name)).map((t) =>
  t.dtype === 'I64'
    ? { name: t.name, dtype: 'I64', shape: t.shape, data: toBigInt64(t, source) }
    : { name: t.name, dtype: 'F16', shape: t.shape, data: Float32Array.from(toFloat32(t, source)) },
);
await writeSafetensorsFileAtomic(target, tensors, { ...file.metadata, shipped_from: source });
console.log(`wrote ${tensors.length} tensors to ${target}`);
