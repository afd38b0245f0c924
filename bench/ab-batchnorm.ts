// A/B of BatchNorm + LeakyReLU (engine/ops/batchnorm.ts batchNormActivation, training mode: statistics,
// normalisation, and the backward sums and input gradient) between two source trees in one process,
// as bench/ab-trees.ts does for the conv layers: `npx tsx bench/ab-batchnorm.ts TREE_A TREE_B [--shapes
// 64x128x32x32,...] [--rounds 16]`. The default shapes are the paper CGAN's BatchNorm inputs at batch
// 64. Each round runs 3 forward + backward calls of each side, A first in even rounds; prints the best
// wall time per call of each side, the median and quartiles of the rounds' B/A CPU time, and the largest
// difference between the sides' input gradients.

import { Command, InvalidArgumentError } from 'commander';
import { wholeNumber } from './options.ts';
import type { Engine } from '../engine/runtime.ts';
import { alternateRounds, cpuRatioSummary, loadTree, maxDifference, type TreeModules } from './ab-rounds.ts';

const CGAN_SHAPES = '64x512x8x8,64x256x16x16,64x128x32x32,64x64x64x64';

function shapeList(value: string): number[][] {
  return value.split(',').map((text) => {
    const shape = text.split('x').map(Number);
    if (shape.length !== 4 || !shape.every((n) => Number.isInteger(n) && n > 0)) throw new InvalidArgumentError(`expected N x C x H x W shapes such as 64x128x32x32, got "${text}".`);
    return shape;
  });
}

const program = new Command('bench/ab-batchnorm.ts')
  .argument('<treeA>', 'a checkout of this repository (A)')
  .argument('<treeB>', 'another checkout (B)')
  .option('--shapes <list>', 'comma-separated input shapes', shapeList, shapeList(CGAN_SHAPES))
  .option('--rounds <n>', 'rounds per shape', wholeNumber(1), 16)
  .parse();
const roots = program.args;
const { shapes, rounds } = program.opts<{ shapes: number[][]; rounds: number }>();
const trees = await Promise.all(roots.map(loadTree));
const engines = await Promise.all(trees.map((t) => t.Engine.create()));
console.log(`A ${roots[0]}\nB ${roots[1]}\nadapter: ${engines[0]!.describe()}`);

/** Deterministic values in [-1, 1], the same on both sides. */
const values = (count: number, seed: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.37 + seed));

/** One side's call on `shape`: forward and backward; returns the input gradient and frees the rest. */
function sideCall(tree: TreeModules, engine: Engine, shape: number[]) {
  const channels = shape[1]!;
  const size = shape.reduce((a, b) => a * b, 1);
  const kept = (data: Float32Array, dims: number[], grad = false) => {
    const tensor = engine.keep(engine.fromArray(data, dims));
    tensor.requiresGrad = grad;
    return tensor;
  };
  const x = kept(values(size, 1), shape, true);
  const weight = kept(values(channels, 2), [channels], true);
  const bias = kept(values(channels, 3), [channels], true);
  const runningMean = kept(new Float32Array(channels), [channels]);
  const runningVar = kept(new Float32Array(channels).fill(1), [channels]);
  const dy = kept(values(size, 4), shape);
  const call = () => {
    const out = tree.batchnorm.batchNormActivation(x, weight, bias, runningMean, runningVar, { training: true }, { leakyRelu: 0.2 });
    // The seed gradient is consumed by the backward pass: a copy of dy each call.
    tree.backward(out, tree.copy(dy));
    const dx = x.grad!;
    weight.grad?.dispose();
    bias.grad?.dispose();
    for (const tensor of [x, weight, bias]) tensor.grad = null;
    return dx;
  };
  const dispose = () => { for (const tensor of [x, weight, bias, runningMean, runningVar, dy]) tensor.dispose(); };
  return { call, dispose };
}

for (const shape of shapes) {
  const sides = trees.map((tree, i) => sideCall(tree, engines[i]!, shape));
  const gradients: Float32Array[] = [];
  for (const [i, side] of sides.entries()) {
    const dx = engines[i]!.tidy(() => engines[i]!.keep(side.call()));
    gradients.push((await engines[i]!.read([dx]))[0] as Float32Array);
    dx.dispose();
  }
  const maxDiff = maxDifference(gradients[0]!, gradients[1]!);
  const calls = 3;
  const timed = await alternateRounds(rounds, async (i) => {
    for (let k = 0; k < calls; k++) engines[i]!.tidy(() => { sides[i]!.call(); });
    await engines[i]!.sync();
  });
  const best = [0, 1].map((i) => Math.min(...timed.map((round) => round[i]!.wallMs)) / calls);
  console.log(`${shape.join('x')}: A ${best[0]!.toFixed(1)} ms, B ${best[1]!.toFixed(1)} ms per call, best of ${rounds} x ${calls}, `
    + `${cpuRatioSummary(timed)}, `
    + `max |A - B| of dx ${maxDiff.toExponential(2)}`);
  for (const side of sides) side.dispose();
}
for (const engine of engines) engine.destroy();
