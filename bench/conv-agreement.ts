// Do the two kernel families agree at full size? Every bench layer (bench/conv-layers.ts) forward,
// grad-input and weight gradient, run with the defaults an engine picks for a software adapter (the
// register-blocked kernels, few chunks) and for a GPU (the workgroup-memory tiles, many chunks), on
// this machine's adapter either way; prints max |difference| / max |value| per pass and the GPU-side
// variants. The unit tests check every variant on small shapes against float64; this checks the
// shapes the benchmarks time. Exits 1 past 1e-4. `--gather V` makes the GPU-sized side run gather
// variant V wherever it can (a tuned choice that is not the default, e.g. the split tiles).
//
//   npx tsx bench/conv-agreement.ts [--only G1,S1] [--gather tile128x128s]

import { Command } from 'commander';
import { Engine } from '../engine/runtime.ts';
import { engineCalls, layers, passNames, type Layer } from './conv-layers.ts';
import { layerList, oneOf } from './options.ts';
import * as conv from '../engine/ops/conv.ts';
import { enableConvAutotune, takeUsedConvVariants } from '../engine/ops/conv-autotune.ts';
import { convTuning, GATHER_VARIANTS, type GatherVariant } from '../engine/ops/conv-kernels.ts';

const TOLERANCE = 1e-4;

async function passes(engine: Engine, layer: Layer): Promise<Float32Array[]> {
  const { calls, dispose } = engineCalls(conv, engine, layer);
  const values: Float32Array[] = [];
  for (const pass of passNames) {
    const result = calls[pass]();
    values.push((await result.toArray()) as Float32Array);
    result.dispose();
  }
  dispose();
  return values;
}

function relativeDifference(a: Float32Array, b: Float32Array): number {
  let largest = 0;
  let difference = 0;
  for (let i = 0; i < a.length; i++) {
    largest = Math.max(largest, Math.abs(a[i]));
    difference = Math.max(difference, Math.abs(a[i] - b[i]));
  }
  return largest === 0 ? difference : difference / largest;
}

async function main(): Promise<void> {
  const options = new Command('bench/conv-agreement.ts')
    .option('--only <layers>', `comma-separated layers (${layers.map((l) => l.name).join(',')})`, layerList, layers)
    .option('--gather <variant>', 'force this gather variant on the GPU-sized engine', oneOf(GATHER_VARIANTS))
    .parse()
    .opts<{ only: Layer[]; gather?: GatherVariant }>();
  const selected = options.only;
  const gather = options.gather ?? null;
  const cpuSized = await Engine.create({ adapterKind: 'cpu' });
  const gpuSized = await Engine.create({ adapterKind: 'gpu' });
  // Autotuning on (without tuning) only to record which variants ran.
  enableConvAutotune(gpuSized);
  console.log(`adapter: ${gpuSized.describe()}`);
  console.log('layer  fwd       dx        dw        (max |difference| / max |value|)   GPU-sized variants');
  let worst = 0;
  for (const layer of selected) {
    const reference = await passes(cpuSized, layer);
    convTuning.gather = gather;
    const tiled = await passes(gpuSized, layer);
    convTuning.gather = null;
    const differences = reference.map((values, i) => relativeDifference(values, tiled[i]));
    worst = Math.max(worst, ...differences);
    const variants = Object.values(takeUsedConvVariants(gpuSized)).join(', ');
    console.log(`${layer.name.padEnd(6)} ${differences.map((d) => d.toExponential(1).padEnd(9)).join(' ')} ${variants}`);
  }
  cpuSized.destroy();
  gpuSized.destroy();
  console.log(`worst ${worst.toExponential(1)} (tolerance ${TOLERANCE})`);
  if (worst > TOLERANCE) process.exit(1);
}

await main();
