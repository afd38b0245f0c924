// Copies a training run's weights into the file shipped with the repository: F32 tensors stored as
// F16 (half the size; generation reads them back as F32), optionally without the discriminator.
//
//   npx tsx scripts/ship-weights.ts RUN/weights.safetensors models/weights/cgan.safetensors
//   npx tsx scripts/ship-weights.ts RUN/weights.safetensors models/weights/srgan.safetensors --generator-only

import { readSafetensorsFile, writeSafetensorsFileAtomic } from '../engine/io/safetensors-node.ts';
import type { SafetensorsInput } from '../engine/io/safetensors.ts';
import { toBigInt64, toFloat32 } from '../engine/io/safetensors.ts';

const [source, target, ...flags] = process.argv.slice(2);
if (!source || !target) {
  console.error('usage: tsx scripts/ship-weights.ts SOURCE.safetensors TARGET.safetensors [--generator-only]');
  process.exit(2);
}
const file = await readSafetensorsFile(source);
const keep = (name: string) => !flags.includes('--generator-only') || name.startsWith('generator.');
const tensors: SafetensorsInput[] = [...file.tensors.values()].filter((t) => keep(t.name)).map((t) =>
  t.dtype === 'I64'
    ? { name: t.name, dtype: 'I64', shape: t.shape, data: toBigInt64(t, source) }
    : { name: t.name, dtype: 'F16', shape: t.shape, data: Float32Array.from(toFloat32(t, source)) },
);
await writeSafetensorsFileAtomic(target, tensors, { ...file.metadata, shipped_from: source });
console.log(`wrote ${tensors.length} tensors to ${target}`);
