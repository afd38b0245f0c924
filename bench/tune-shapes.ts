// The autotuner's timing of every candidate kernel for conv shapes named on the command line, for
// shapes the bench layers (bench/conv-layers.ts) do not cover, e.g. a model's first or last layer:
//
//   npx tsx bench/tune-shapes.ts convT:64x150x1x1:150x512x4x4:s1p0 conv:16x64x32x32:64x64x4x4:s1p2 [--passes dw]
//
// Each shape is OP:X:WEIGHT:sSpP with OP conv (weight [Cout, Cin, kH, kW]) or convT (weight [Cin, Cout,
// kH, kW]), X [N, C, H, W]. Prints the tuner's line per pass: every candidate's time (CPU time on a
// software adapter), fastest first; the first candidate in engine/ops/conv-kernels.ts's order is the
// untuned default.

import { Command } from 'commander';
import { Engine } from '../engine/runtime.ts';
import * as conv from '../engine/ops/conv.ts';
import { enableConvAutotune, tuneConvolutions } from '../engine/ops/conv-autotune.ts';
import { convShape, passList, type ConvShape } from './options.ts';
import type { PassName } from './conv-layers.ts';

async function main(): Promise<void> {
  const program = new Command('bench/tune-shapes.ts')
    .argument('<shapes...>', 'OP:NxCxHxW:AxBxKHxKW:sSpP, OP conv or convT')
    .option('--passes <passes>', 'comma-separated passes (fwd,dx,dw)', passList, ['fwd', 'dx', 'dw'] as PassName[])
    .parse();
  const shapes = program.args.reduce<ConvShape[]>((all, value) => convShape(value, all), []);
  const { passes } = program.opts<{ passes: PassName[] }>();
  const engine = await Engine.create();
  console.log(`adapter: ${engine.describe()}`);
  enableConvAutotune(engine);
  const filled = (shape: number[]) => engine.fromArray(new Float32Array(shape.reduce((a, b) => a * b)).fill(0.5), shape);
  for (const s of shapes) {
    const x = filled(s.x);
    const weight = filled(s.weight);
    const options = { stride: s.stride, padding: s.padding };
    // One call of each pass makes its shape pending; the tuner then times every candidate.
    const y = s.transposed ? conv.convTranspose2d(x, weight, null, options) : conv.conv2d(x, weight, null, options);
    if (!passes.includes('fwd')) await tuneConvolutions(engine); // the forward's shape, tuned untimed and unlogged
    const results = [
      passes.includes('dx') ? (s.transposed ? conv.convTranspose2dGradInput : conv.conv2dGradInput)(y, weight, s.x, options) : null,
      passes.includes('dw') ? (s.transposed ? conv.convTranspose2dGradWeight : conv.conv2dGradWeight)(y, x, s.weight, options) : null,
    ];
    await tuneConvolutions(engine, (line) => console.log(line));
    for (const t of [x, weight, y, ...results]) t?.dispose();
  }
  engine.destroy();
}

main().catch((error: unknown) => {
  console.error(`bench/tune-shapes.ts: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
