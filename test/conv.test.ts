// conv2d and convTranspose2d on the GPU against the float64 reference (forward, grad-input,
// grad-weight, grad-bias): awkward sizes with analytic reference gradients, tiny ones with finite
// differences, the GAN layers at batch 1-2, and every conv case of the committed PyTorch vectors.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, testEngine } from './helpers/engine.ts';
import type { Engine } from '../engine/runtime.ts';
import { checkOp } from './helpers/gpu-check.ts';
import { assertClose } from './helpers/finite-diff.ts';
import * as ref from './helpers/reference.ts';
import type { Shape4 } from './helpers/reference.ts';
import { loadOpsVectors, tensorValues } from './helpers/torch-vectors.ts';
import { conv2d, convTranspose2d } from '../engine/ops/conv.ts';
import { workgroupSizeFor } from '../engine/ops/grid.ts';
import { imageChunks, winogradApplies, winogradChunk } from '../engine/ops/conv-winograd.ts';
import { backward } from '../engine/ops/backward.ts';
import { convTuning, gatherCandidates, gatherSplits, pixelStripAligned, tileBuffers, tileOf, vec4StripHalo, weightGradCandidates, weightGradChunks, weightGradSwap } from '../engine/ops/conv-kernels.ts';

interface Case {
  x: Shape4;
  weight: Shape4;
  stride: number;
  padding: number;
  outputPadding?: number;
  bias: boolean;
  /** Fused into the conv's stores (conv2d / convTranspose2d `activation`). */
  activation?: 'tanh' | { leakyRelu: number };
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const describe = (c: Case): string =>
  `x${c.x.join('x')} w${c.weight.join('x')} s${c.stride} p${c.padding}${c.outputPadding ? ` op${c.outputPadding}` : ''}${c.bias ? ' bias' : ''}${c.activation ? ` ${c.activation === 'tanh' ? 'tanh' : `leakyRelu ${c.activation.leakyRelu}`}` : ''}`;

/** The forward gather's geometry of a case (conv2d, or convTranspose2d if `transposed`). */
function gatherGeometryOf(c: Case, transposed: boolean) {
  const [batch, inChannels, inHeight, inWidth] = c.x;
  const [kernelHeight, kernelWidth] = c.weight.slice(2);
  const out = (size: number, k: number) =>
    transposed ? (size - 1) * c.stride - 2 * c.padding + k + (c.outputPadding ?? 0) : Math.floor((size + 2 * c.padding - k) / c.stride) + 1;
  return {
    batch, inChannels, inHeight, inWidth, outChannels: transposed ? c.weight[1] : c.weight[0], outHeight: out(inHeight, kernelHeight),
    outWidth: out(inWidth, kernelWidth), kernelHeight, kernelWidth, stride: c.stride, padding: c.padding, transposed,
  };
}

async function checkConv(c: Case, transposed: boolean, finiteDifferences = false, engine?: Engine): Promise<void> {
  const options = { stride: c.stride, padding: c.padding, outputPadding: c.outputPadding ?? 0 };
  // With an activation fused in, the reference applies it to the reference conv, and its backward takes dy
  // through it: dy (1 - y^2) for tanh, dy or slope * dy by the pre-activation's sign for LeakyReLU.
  const { activation } = c;
  const activate = (values: Float64Array) => (activation === 'tanh' ? values.map(Math.tanh)
    : activation ? values.map((v) => (v > 0 ? v : activation.leakyRelu * v)) : values);
  const throughActivation = (upstream: Float64Array, z: Float64Array) => (activation === 'tanh' ? upstream.map((g, i) => g * (1 - Math.tanh(z[i]) ** 2))
    : activation ? upstream.map((g, i) => (z[i] > 0 ? g : activation.leakyRelu * g)) : upstream);
  const outChannels = transposed ? c.weight[1] : c.weight[0];
  const forward = transposed ? ref.convTranspose2dForward : ref.conv2dForward;
  const backwardReference = transposed ? ref.convTranspose2dBackward : ref.conv2dBackward;
  // Sums of many unit-variance products grow like sqrt(terms); float32 rounding grows with them.
  const terms = size(c.weight) / outChannels;
  const tolerance = { atol: 1e-4 * Math.max(1, Math.sqrt(terms)), rtol: 1e-4 };
  const gradTerms = Math.max(terms, size(c.x) / c.x[1]);
  await checkOp(engine ?? (await testEngine()), {
    name: `${transposed ? 'convTranspose2d' : 'conv2d'} ${describe(c)}`,
    inputs: [{ shape: [...c.x] }, { shape: [...c.weight] }, ...(c.bias ? [{ shape: [outChannels] }] : [])],
    gpu: (_, [x, weight, bias]) => {
      const fused = { ...options, activation: c.activation ?? 'none' } as const;
      return transposed ? convTranspose2d(x, weight, bias ?? null, fused) : conv2d(x, weight, bias ?? null, fused);
    },
    reference: ([x, weight, bias]) => activate(forward(x, c.x, weight, c.weight, bias ?? null, options).output),
    referenceBackward: finiteDifferences ? undefined : ([x, weight, bias], upstream) => {
      const dz = throughActivation(upstream, forward(x, c.x, weight, c.weight, bias ?? null, options).output);
      const grads = backwardReference(dz, x, c.x, weight, c.weight, options);
      return [grads.gradInput, grads.gradWeight, ...(c.bias ? [grads.gradBias] : [])];
    },
    tolerance,
    gradTolerance: { atol: 1e-4 * Math.max(10, Math.sqrt(gradTerms) * 4), rtol: 1e-3 },
  });
}

/** Runs `body` with convTuning set to `settings`; then restores it, and the Winograd chunk size that `body` may lower. */
async function withConvTuning(settings: Partial<typeof convTuning>, body: () => Promise<void>): Promise<void> {
  const saved = { ...convTuning };
  const savedChunk = winogradChunk.bytes;
  try {
    Object.assign(convTuning, settings);
    await body();
  } finally {
    Object.assign(convTuning, saved);
    winogradChunk.bytes = savedChunk;
  }
}

const convCases: Case[] = [
  { x: [1, 1, 1, 1], weight: [1, 1, 1, 1], stride: 1, padding: 0, bias: true },
  { x: [1, 3, 7, 5], weight: [1, 3, 3, 3], stride: 1, padding: 1, bias: true },
  { x: [2, 5, 9, 11], weight: [7, 5, 1, 1], stride: 1, padding: 0, bias: false },
  { x: [1, 3, 13, 10], weight: [5, 3, 9, 9], stride: 1, padding: 4, bias: true },
  { x: [3, 4, 16, 14], weight: [9, 4, 4, 4], stride: 2, padding: 1, bias: false },
  { x: [2, 6, 11, 9], weight: [5, 6, 2, 3], stride: 1, padding: 1, bias: true },
  { x: [1, 2, 9, 8], weight: [3, 2, 3, 5], stride: 3, padding: 2, bias: true },
  { x: [2, 17, 6, 6], weight: [13, 17, 3, 3], stride: 2, padding: 0, bias: true },
  { x: [2, 4, 4, 4], weight: [1, 4, 4, 4], stride: 1, padding: 0, bias: true },
  // 6 input channels x 16 taps: the weight gradient splits its rows over 2 groups of lanes.
  { x: [2, 6, 10, 10], weight: [12, 6, 4, 4], stride: 2, padding: 1, bias: false },
];

const convTransposeCases: Case[] = [
  { x: [1, 1, 1, 1], weight: [1, 1, 1, 1], stride: 1, padding: 0, bias: true },
  { x: [3, 6, 1, 1], weight: [6, 5, 4, 4], stride: 1, padding: 0, bias: false },
  { x: [2, 5, 5, 7], weight: [5, 3, 4, 4], stride: 2, padding: 1, bias: true },
  { x: [1, 3, 6, 5], weight: [3, 1, 4, 4], stride: 2, padding: 1, bias: true },
  { x: [2, 3, 4, 5], weight: [3, 2, 3, 3], stride: 2, padding: 1, outputPadding: 1, bias: true },
  { x: [1, 4, 3, 4], weight: [4, 7, 2, 3], stride: 3, padding: 0, outputPadding: 2, bias: false },
  { x: [2, 9, 7, 6], weight: [9, 5, 3, 3], stride: 1, padding: 1, bias: true },
  { x: [1, 2, 5, 4], weight: [2, 3, 5, 5], stride: 3, padding: 2, outputPadding: 1, bias: true },
  { x: [1, 7, 4, 4], weight: [7, 6, 1, 1], stride: 2, padding: 0, outputPadding: 1, bias: false },
];

test('conv2d awkward shapes', async () => {
  for (const c of convCases) await checkConv(c, false);
});

test('convTranspose2d awkward shapes', async () => {
  for (const c of convTransposeCases) await checkConv(c, true);
});

test('conv2d and convTranspose2d by finite differences', async () => {
  await checkConv({ x: [2, 3, 5, 6], weight: [2, 3, 4, 4], stride: 2, padding: 1, bias: true }, false, true);
  await checkConv({ x: [1, 2, 6, 5], weight: [3, 2, 3, 2], stride: 1, padding: 1, bias: true }, false, true);
  await checkConv({ x: [2, 3, 3, 3], weight: [3, 2, 4, 4], stride: 2, padding: 1, bias: true }, true, true);
  await checkConv({ x: [1, 2, 3, 2], weight: [2, 3, 3, 3], stride: 2, padding: 1, outputPadding: 1, bias: false }, true, true);
});

test('GAN layers at small batch', async () => {
  const k4s2p1 = { stride: 2, padding: 1, bias: false };
  await checkConv({ x: [1, 150, 1, 1], weight: [150, 64, 4, 4], stride: 1, padding: 0, bias: false }, true);
  await checkConv({ x: [1, 128, 8, 8], weight: [128, 64, 4, 4], ...k4s2p1 }, true);
  await checkConv({ x: [1, 64, 16, 16], weight: [64, 32, 4, 4], ...k4s2p1 }, true);
  await checkConv({ x: [2, 32, 32, 32], weight: [32, 1, 4, 4], stride: 2, padding: 1, bias: true }, true);
  await checkConv({ x: [2, 2, 64, 64], weight: [32, 2, 4, 4], stride: 2, padding: 1, bias: true }, false);
  await checkConv({ x: [1, 64, 16, 16], weight: [128, 64, 4, 4], ...k4s2p1 }, false);
  await checkConv({ x: [1, 128, 4, 4], weight: [1, 128, 4, 4], stride: 1, padding: 0, bias: true }, false);
  await checkConv({ x: [1, 16, 24, 24], weight: [16, 16, 3, 3], stride: 1, padding: 1, bias: true }, false);
  await checkConv({ x: [1, 1, 24, 24], weight: [16, 1, 9, 9], stride: 1, padding: 4, bias: true }, false);
});

test('GAN layers with their full channel counts at batch 1', async () => {
  await checkConv({ x: [1, 256, 16, 16], weight: [256, 128, 4, 4], stride: 2, padding: 1, bias: false }, true);
  await checkConv({ x: [1, 128, 32, 32], weight: [256, 128, 4, 4], stride: 2, padding: 1, bias: false }, false);
});

test('weight gradients split into as many chunks as a GPU gets agree with the reference', async () => {
  // S1-like: 3 blocks of threads x 1 of channels; 32 rows of 4 (the floor) on a GPU, 11 of 12 rows on a CPU.
  assert.is(weightGradChunks(128, 3, 16 * 16 * 9, 'gpu'), 32);
  assert.is(weightGradChunks(128, 3, 16 * 16 * 9, 'cpu'), 11);
  // The partial sums stay within 32 MiB: a 2M-float weight gets 4 chunks however many workgroups are wanted.
  assert.is(weightGradChunks(4096, 1, 2 ** 21, 'gpu'), 4);
  // U1 (256 x 576 outputs, 48 blocks, 10 tiles of 128 x 128, rows of 128): 52 chunks of 10 rows, so
  // that those tiles make 520 workgroups (22 from the blocks alone); a CPU ignores the tiles. G3 (8
  // tiles, 512 rows of 64): 32 chunks of 1024 positions, not 64 of 512.
  assert.is(weightGradChunks(512, 48, 256 * 576, 'gpu'), 22);
  assert.is(weightGradChunks(512, 48, 256 * 576, 'gpu', 10, 128), 52);
  assert.is(weightGradChunks(512, 48, 256 * 576, 'cpu', 10, 128), 1);
  assert.is(weightGradChunks(512, 32, 128 * 1024, 'gpu', 8, 64), 32);
  const gpuSized = await createEngine({ seed: 1234, adapterKind: 'gpu' });
  try {
    await checkConv({ x: [2, 16, 32, 32], weight: [16, 16, 3, 3], stride: 1, padding: 1, bias: true }, false, false, gpuSized);
    await checkConv({ x: [2, 12, 16, 16], weight: [12, 8, 4, 4], stride: 2, padding: 1, bias: false }, true, false, gpuSized);
    await checkConv({ x: [3, 4, 16, 14], weight: [9, 4, 4, 4], stride: 2, padding: 1, bias: false }, false, false, gpuSized);
  } finally {
    gpuSized.destroy();
  }
});

test('every register blocking and gather entry point of convTuning agrees with the reference', async () => {
  const saved = { ...convTuning };
  // Each variant is forced wherever it applies; the subgroup and pixels ones run only where the
  // adapter has subgroups of >= 8 lanes (lavapipe: 8).
  const variants = [
    ['gather4', 'plain4'], ['gather16', 'plain8'], ['strip8', 'plain16'], ['strip16', 'rows8'], ['subgroup8', 'subgroup8'], ['subgroup16', 'subgroup16'],
    ['subgroup32', 'subgroup32'], ['subgroup16', 'rows16'], ['subgroup8', 'rows32'],
  ] as const;
  try {
    for (const [gather, weightGrad] of variants) {
      Object.assign(convTuning, { gather, weightGrad });
      // Channel counts that leave the last block of 16 (or 8, or 4) partly empty.
      await checkConv({ x: [2, 17, 6, 6], weight: [13, 17, 3, 3], stride: 2, padding: 0, bias: true }, false);
      await checkConv({ x: [2, 9, 7, 6], weight: [9, 21, 3, 3], stride: 1, padding: 1, bias: true }, true);
      await checkConv({ x: [1, 24, 8, 8], weight: [24, 40, 4, 4], stride: 2, padding: 1, bias: false }, true);
      // 36 outputs: subgroup32's (and rows32's) second workgroup has 4 channels of its 32.
      await checkConv({ x: [1, 8, 10, 10], weight: [36, 8, 4, 4], stride: 2, padding: 1, bias: true }, false);
    }
    // Few output channels (phases8 for convTranspose2d k4 s2 p1 and pixels8 otherwise, the defaults
    // there, run in the other tests): a strided conv2d, a convTranspose2d to 1 channel. Each
    // variant's pipeline takes seconds to compile on lavapipe.
    for (const gather of ['pixels8', 'pixels16', 'strip4'] as const) {
      Object.assign(convTuning, { gather, weightGrad: null });
      await checkConv({ x: [1, 5, 13, 11], weight: [2, 5, 4, 4], stride: 2, padding: 1, bias: true }, false);
      await checkConv({ x: [2, 10, 6, 7], weight: [10, 1, 4, 4], stride: 2, padding: 1, bias: true }, true);
      // Input channels a multiple of 8 (PIXEL_WHOLE_BANKS: the bank loop without its exit test).
      await checkConv({ x: [1, 16, 9, 7], weight: [2, 16, 4, 4], stride: 2, padding: 1, bias: false }, false);
    }
  } finally {
    Object.assign(convTuning, saved);
  }
});

test('convTranspose2d phases with different taps (k3 s2) run one dispatch each, 1, 2 or 4 input channels an update, and agree with the reference', async () => {
  const saved = { ...convTuning };
  const k3s2p1 = { stride: 2, padding: 1 };
  try {
    for (const gather of ['subgroup8', 'subgroup16', 'subgroup32'] as const) {
      Object.assign(convTuning, { gather, weightGrad: null });
      // 8 input channels: 4 an update in the 1 x 1 phase, 2 in the 1 x 2 and 2 x 1 ones; 6: 2 in all three; 5: 1.
      await checkConv({ x: [2, 8, 5, 8], weight: [8, 12, 3, 3], ...k3s2p1, outputPadding: 1, bias: true }, true);
      await checkConv({ x: [1, 6, 4, 5], weight: [6, 9, 3, 3], ...k3s2p1, bias: false, activation: { leakyRelu: 0.2 } }, true);
      await checkConv({ x: [2, 5, 3, 3], weight: [5, 4, 3, 3], ...k3s2p1, outputPadding: 1, bias: true }, true);
      // The grad-input of a strided conv2d (10 channels: 2 an update in the 1 x 1 phase).
      await checkConv({ x: [2, 10, 12, 8], weight: [6, 10, 3, 3], ...k3s2p1, bias: true }, false);
      // k5 s2: 3 x 3, 3 x 2, 2 x 3 and 2 x 2 taps.
      await checkConv({ x: [1, 4, 4, 4], weight: [4, 7, 5, 5], stride: 2, padding: 2, outputPadding: 1, bias: false }, true);
    }
  } finally {
    Object.assign(convTuning, saved);
  }
});

test('workgroup-memory GEMM tiles (the default on GPUs) agree with the reference', async () => {
  const saved = { ...convTuning };
  // An engine that sizes and orders its kernels for a GPU, on whatever adapter runs the tests.
  const gpuSized = await createEngine({ seed: 4321, adapterKind: 'gpu' });
  const k3s1Weight = { height: 3, width: 3, stride: 1, padding: 1, gradHeight: 32, gradWidth: 32, inHeight: 32, inWidth: 32 };
  const k3s1 = { batch: 2, inChannels: 32, inHeight: 16, inWidth: 16, outHeight: 16, outWidth: 16, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1, transposed: false };
  try {
    assert.is(weightGradCandidates(gpuSized, 64, { ...k3s1Weight, inChannels: 64 })[0], 'tile64x64');
    assert.not.ok(weightGradCandidates(gpuSized, 16, { ...k3s1Weight, inChannels: 16 }).includes('tile128x64'));
    // 64 x 64 tiles where they make enough workgroups (4 x 64 x 64 pixels x 128 channels: 256 x 2), else the split tile.
    assert.is(gatherCandidates(gpuSized, { ...k3s1, batch: 4, outChannels: 128, inHeight: 64, inWidth: 64, outHeight: 64, outWidth: 64 })[0], 'tile64x64');
    assert.is(gatherCandidates(gpuSized, { ...k3s1, outChannels: 64 })[0], 'tile32x32k4');
    assert.not.ok(gatherCandidates(gpuSized, { ...k3s1, outChannels: 8 })[0].startsWith('tile'));
    for (const [gather, weightGrad] of [['tile64x64', 'tile64x64'], ['tile64x128', 'tile64x128'], ['tile128x64', 'tile128x64'],
      ['tile128x128', 'tile128x128'], ['tile32x32k4', 'tile64x64']] as const) {
      Object.assign(convTuning, { gather, weightGrad });
      // Channels, pixels and columns that leave the last tile partly empty, rows split into several
      // chunks (a GPU's count), stride 2 with padding, convTranspose2d's phases (stride 3 with a
      // 2-tap kernel: one phase has no taps), a 1x1 kernel.
      await checkConv({ x: [2, 17, 15, 14], weight: [70, 17, 3, 3], stride: 1, padding: 1, bias: true }, false, false, gpuSized);
      await checkConv({ x: [2, 9, 7, 6], weight: [9, 40, 4, 4], stride: 2, padding: 1, bias: false }, true, false, gpuSized);
      await checkConv({ x: [3, 5, 16, 14], weight: [33, 5, 4, 4], stride: 2, padding: 1, bias: false }, false, false, gpuSized);
      await checkConv({ x: [1, 4, 3, 4], weight: [4, 7, 2, 3], stride: 3, padding: 0, outputPadding: 2, bias: true }, true, false, gpuSized);
      await checkConv({ x: [2, 5, 9, 11], weight: [7, 5, 1, 1], stride: 1, padding: 0, bias: true }, false, false, gpuSized);
    }
    // Those gathers ran double-buffered (this adapter allows the 12.5-18 KiB); one copy where it does not (a
    // dry run assumes WebGPU's 16 KiB default) or where pinned.
    // (A copy of the 128 x 128 tiles: 8 steps of 132 + 132 floats, 8,448 bytes.)
    assert.is(tileBuffers(gpuSized, tileOf('tile128x128')), gpuSized.maxWorkgroupStorageBytes >= 2 * 8448 ? 2 : 1);
    const dryRun = await createEngine({ dryRun: true });
    assert.is(tileBuffers(dryRun, tileOf('tile128x128')), 1);
    dryRun.destroy();
    for (const [gather, weightGrad] of [['tile128x128', 'tile128x128'], ['tile32x32k4', 'tile64x64']] as const) {
      Object.assign(convTuning, { gather, weightGrad, tileBuffers: 1 });
      assert.is(tileBuffers(gpuSized, tileOf(gather)), 1);
      await checkConv({ x: [2, 17, 15, 14], weight: [70, 17, 3, 3], stride: 1, padding: 1, bias: true }, false, false, gpuSized);
      await checkConv({ x: [2, 9, 7, 6], weight: [9, 40, 4, 4], stride: 2, padding: 1, bias: false }, true, false, gpuSized);
    }
  } finally {
    Object.assign(convTuning, saved);
    gpuSized.destroy();
  }
});

test('gather tiles split over workgroups (SPLITS, then reduce_splits) agree with the reference', async () => {
  const saved = { ...convTuning };
  const gpuSized = await createEngine({ seed: 8765, adapterKind: 'gpu' });
  // Reductions of 280-576 positions: 2-8 splits, the last one ending part-way through a step.
  const cases: [Case, boolean][] = [
    [{ x: [2, 40, 9, 7], weight: [20, 40, 3, 3], stride: 1, padding: 1, bias: true }, false],
    [{ x: [2, 70, 5, 6], weight: [70, 9, 4, 4], stride: 2, padding: 1, bias: true }, true],
    [{ x: [1, 36, 12, 10], weight: [10, 36, 4, 4], stride: 2, padding: 1, bias: false }, false],
  ];
  try {
    // Candidates only where the plain tiles are too few for a GPU.
    const few = gatherGeometryOf(cases[0][0], false);
    assert.ok(gatherCandidates(gpuSized, few).includes('tile64x64s'));
    assert.not.ok(gatherCandidates(gpuSized, { ...few, batch: 64, inHeight: 64, inWidth: 64, outHeight: 64, outWidth: 64 }).includes('tile64x64s'));
    for (const gather of ['tile64x64s', 'tile128x128s'] as const) {
      Object.assign(convTuning, { gather, weightGrad: null });
      for (const [c, transposed] of cases) {
        assert.ok(gatherSplits(gatherGeometryOf(c, transposed), tileOf(gather)) > 1, `${gather} splits ${describe(c)}`);
        await checkConv(c, transposed, false, gpuSized);
      }
    }
  } finally {
    Object.assign(convTuning, saved);
    gpuSized.destroy();
  }
});

test('tanh and LeakyReLU fused into the conv stores (every gather family) agree with the reference', async () => {
  const saved = { ...convTuning };
  // 3 output channels: pixels8 (conv2d) and phases8 (convTranspose2d k4 s2 p1) apply as well.
  const convCase: Case = { x: [2, 5, 9, 8], weight: [3, 5, 3, 3], stride: 1, padding: 1, bias: true, activation: 'tanh' };
  const transposeCase: Case = { x: [2, 6, 5, 7], weight: [6, 3, 4, 4], stride: 2, padding: 1, bias: true, activation: 'tanh' };
  const leaky = { leakyRelu: 0.2 };
  const withLeaky = (c: Case): Case => ({ ...c, activation: leaky });
  const gpuSized = await createEngine({ seed: 2468, adapterKind: 'gpu' });
  try {
    await checkConv(convCase, false, true);
    // Each family's store, forced: [variant, cases it runs].
    const families = [['gather4', [convCase, transposeCase]], ['strip8', [convCase, transposeCase]], ['subgroup16', [convCase, transposeCase]],
      ['pixels8', [convCase]], ['phases8', [transposeCase]]] as const;
    for (const [gather, cases] of families) {
      Object.assign(convTuning, { gather, weightGrad: null });
      for (const c of cases) {
        await checkConv(c, c === transposeCase);
        await checkConv(withLeaky(c), c === transposeCase);
      }
    }
    // A tile, and a split tile (the activation once the splits are added): reductions long enough to split.
    for (const gather of ['tile64x64', 'tile64x64s'] as const) {
      Object.assign(convTuning, { gather, weightGrad: null });
      const tileCase: Case = { x: [2, 40, 9, 7], weight: [20, 40, 3, 3], stride: 1, padding: 1, bias: true, activation: 'tanh' };
      await checkConv(tileCase, false, false, gpuSized);
      await checkConv(withLeaky(tileCase), false, false, gpuSized);
    }
  } finally {
    Object.assign(convTuning, saved);
    gpuSized.destroy();
  }
});

test('a fused LeakyReLU needs a positive slope (its gradient comes from the output)', async () => {
  const engine = await testEngine();
  const x = engine.fromArray(new Float32Array(9).fill(1), [1, 1, 3, 3]);
  const weight = engine.fromArray(new Float32Array([1]), [1, 1, 1, 1]);
  for (const slope of [0, -0.1, Number.NaN]) {
    assert.throws(() => conv2d(x, weight, null, { activation: { leakyRelu: slope } }), /conv2d: a fused LeakyReLU needs a positive slope/);
    assert.throws(() => convTranspose2d(x, weight, null, { activation: { leakyRelu: slope } }), /convTranspose2d: a fused LeakyReLU needs a positive slope/);
  }
  x.dispose();
  weight.dispose();
});

test('aligned vec4 strip loads (VEC4_STRIP) agree with the reference, halos shared by lanes or loaded', async () => {
  const k4s2p1 = { stride: 2, padding: 1, bias: true };
  // [case, transposed, halo columns left / right of the forward's strips]
  const cases: [Case, boolean, string][] = [
    // 3 strips a row: rows straddle subgroups, so first and last lanes load halos mid-row.
    [{ x: [2, 5, 12, 24], weight: [9, 5, 4, 4], ...k4s2p1 }, false, '1/1'],
    [{ x: [1, 6, 5, 20], weight: [7, 6, 3, 3], stride: 1, padding: 1, bias: false }, false, '1/1'],
    // 6 output columns: the last strip has 2, and its own columns run past the row.
    [{ x: [1, 3, 12, 12], weight: [5, 3, 4, 4], ...k4s2p1 }, false, '1/1'],
    [{ x: [1, 3, 10, 16], weight: [5, 3, 9, 9], stride: 1, padding: 4, bias: true }, false, '4/4'],
    [{ x: [2, 4, 6, 16], weight: [6, 4, 3, 3], stride: 1, padding: 0, bias: true }, false, '0/2'],
    // convTranspose2d: the two column phases' strips start one column apart (MAX_SHIFT 1).
    [{ x: [2, 6, 5, 12], weight: [6, 10, 4, 4], ...k4s2p1 }, true, '1/1'],
    [{ x: [1, 4, 3, 8], weight: [4, 5, 3, 3], stride: 2, padding: 1, outputPadding: 1, bias: true }, true, '0/1'],
    // 20 strips a row: halos loaded at every subgroup's edges.
    [{ x: [1, 3, 4, 80], weight: [5, 3, 3, 3], stride: 1, padding: 1, bias: false }, false, '1/1'],
    // 9 output columns from 8: the last strip's own columns lie past the row, and its left neighbour's
    // right halo must not take them.
    [{ x: [1, 4, 6, 8], weight: [8, 4, 4, 4], stride: 1, padding: 2, bias: false }, false, '2/1'],
  ];
  const saved = { ...convTuning };
  try {
    Object.assign(convTuning, { gather: 'subgroup16', weightGrad: null, vec4Strip: null });
    for (const [c, transposed, expected] of cases) {
      const halo = vec4StripHalo(gatherGeometryOf(c, transposed));
      assert.is(halo && `${halo.left}/${halo.right}`, expected, describe(c));
      await checkConv(c, transposed);
    }
    // The other blockings load 2 and 8 lanes' weights per tap (tapWeightQuads).
    for (const gather of ['subgroup8', 'subgroup32'] as const) {
      Object.assign(convTuning, { gather });
      await checkConv(cases[0][0], false);
      await checkConv(cases[5][0], true);
    }
  } finally {
    Object.assign(convTuning, saved);
  }
});

test('the Winograd F(3x3, 2x2) gather agrees with the reference: conv2d, convTranspose2d, their grad-inputs, chunks of images', async () => {
  const k4s2p1 = { stride: 2, padding: 1 };
  // [case, transposed, does the forward gather qualify, does the grad-input's]
  const cases: [Case, boolean, boolean, boolean][] = [
    // Partial tiles (5 x 7 outputs in 3 x 3 tiles), m padded from 33 to 64; the grad-input (4 x 3 = 12 channels) does not qualify.
    [{ x: [2, 3, 10, 14], weight: [33, 3, 4, 4], ...k4s2p1, bias: true, activation: { leakyRelu: 0.2 } }, false, true, false],
    // convTranspose2d: 4 phases x 9 channels; its grad-input (a conv2d to 6 channels) does not qualify.
    [{ x: [2, 6, 5, 7], weight: [6, 9, 4, 4], ...k4s2p1, bias: true, activation: 'tanh' }, true, true, false],
    // The grad-input of this conv2d is a convTranspose2d to 4 x 10 channels.
    [{ x: [3, 10, 8, 6], weight: [32, 10, 4, 4], ...k4s2p1, bias: false }, false, true, true],
    // And the other way round.
    [{ x: [2, 40, 4, 6], weight: [40, 8, 4, 4], ...k4s2p1, bias: false }, true, true, true],
  ];
  // The default on a CPU adapter for gathers with a reduction of 64 or more and phases of 8 x 8 or more (the
  // bench's G2 forward, D3 forward); for smaller ones (G1's forward: 4 x 4 phases), and on GPUs, a later candidate.
  const engine = await testEngine();
  const gpuSized = await createEngine({ seed: 99, adapterKind: 'gpu' });
  try {
    const g2 = gatherGeometryOf({ x: [16, 256, 16, 16], weight: [256, 128, 4, 4], ...k4s2p1, bias: false }, true);
    const d3 = gatherGeometryOf({ x: [16, 128, 32, 32], weight: [256, 128, 4, 4], ...k4s2p1, bias: false }, false);
    const g1 = gatherGeometryOf({ x: [16, 512, 4, 4], weight: [512, 256, 4, 4], ...k4s2p1, bias: false }, true);
    for (const g of [g2, d3]) {
      if (engine.adapterKind === 'cpu' && engine.subgroupMinSize >= 8) assert.is(gatherCandidates(engine, g)[0], 'winograd');
    }
    const candidates = gatherCandidates(engine, g1);
    assert.is(candidates.includes('winograd'), engine.subgroupMinSize >= 8);
    assert.is.not(candidates[0], 'winograd');
    assert.is.not(gatherCandidates(gpuSized, g2)[0], 'winograd');
  } finally {
    gpuSized.destroy();
  }
  // One image's tiles (16 x 1024 x 86 x 86 floats) over 64 MiB: not Winograd, whatever the chunk size.
  assert.is(winogradApplies(gatherGeometryOf({ x: [1, 256, 512, 512], weight: [256, 256, 4, 4], ...k4s2p1, bias: false }, false)), false);
  await withConvTuning({ gather: 'winograd', weightGrad: null }, async () => {
    for (const [c, transposed, forward, gradInput] of cases) {
      const g = gatherGeometryOf(c, transposed);
      const [n, cin, h, w] = c.x;
      const dy = gatherGeometryOf({ ...c, x: [n, transposed ? c.weight[1] : c.weight[0], g.outHeight, g.outWidth] }, !transposed);
      assert.is(winogradApplies(g), forward, describe(c));
      assert.is(winogradApplies({ ...dy, outChannels: cin, outHeight: h, outWidth: w }), gradInput, `${describe(c)} grad-input`);
      await checkConv(c, transposed);
    }
    // One tile row per chunk (bands of each image); then a chunk of one image and one of two (case 2's forward: k 40, 2 tiles an image).
    winogradChunk.bytes = 1;
    await checkConv(cases[0][0], false);
    await checkConv(cases[3][0], true);
    winogradChunk.bytes = 2 * 4 * 16 * 40 * 2;
    await checkConv(cases[2][0], false);
  });
});

test('workgroup sizes for the Winograd GEMM and the rows weight gradients leave few lanes idle', () => {
  // [threads, size]: a quarter idle at 64 (144 = 3 x 48); none at 64; up to an eighth accepted (288: 32 of 320).
  for (const [threads, size] of [[144, 48], [96, 48], [512, 64], [288, 64], [20, 24], [8, 8], [1, 8]]) {
    assert.is(workgroupSizeFor(threads!, 64, 8), size, `${threads} threads`);
  }
  for (let threads = 1; threads <= 600; threads++) {
    const size = workgroupSizeFor(threads, 64, 8);
    const idle = (s: number) => Math.ceil(threads / s) * s - threads;
    assert.ok(size % 8 === 0 && size <= 64);
    const fewest = Math.min(...[8, 16, 24, 32, 40, 48, 56, 64].map(idle));
    assert.ok(idle(size) * 8 <= Math.ceil(threads / size) * size || idle(size) === fewest, `${threads} threads: ${size}`);
  }
});

test('Winograd chunks of images: as few as the limit allows, their sizes within one of each other, covering the batch in order', () => {
  assert.equal(imageChunks(64, 56), [{ firstImage: 0, images: 32 }, { firstImage: 32, images: 32 }]);
  assert.equal(imageChunks(10, 3).map((c) => c.images), [2, 3, 2, 3]);
  assert.equal(imageChunks(5, 8), [{ firstImage: 0, images: 5 }]);
  for (let batch = 1; batch <= 40; batch++) {
    for (let most = 1; most <= batch + 1; most++) {
      const chunks = imageChunks(batch, most);
      assert.is(chunks.length, Math.ceil(batch / most));
      const sizes = chunks.map((c) => c.images);
      assert.ok(Math.max(...sizes) <= most && Math.max(...sizes) - Math.min(...sizes) <= 1, `${batch} in chunks of ${most}: ${sizes}`);
      chunks.forEach((c, i) => assert.is(c.firstImage, i === 0 ? 0 : chunks[i - 1]!.firstImage + chunks[i - 1]!.images));
      assert.is(chunks.at(-1)!.firstImage + chunks.at(-1)!.images, batch);
    }
  }
});

test('the Winograd F(2x2, 3x3) and F(4x4, 3x3) gathers for k3 s1 p1 agree with the reference: conv2d, its grad-input, chunks of images', async () => {
  const k3s1p1 = { stride: 1, padding: 1 };
  const cases: [Case, boolean][] = [
    // Odd sizes (partial 2x2 and 4x4 tiles), m padded from 33 to 64, a fused LeakyReLU; the grad-input (a
    // flipped kernel, 33 -> 6 channels) has too few output channels for Winograd and runs direct.
    [{ x: [2, 6, 7, 9], weight: [33, 6, 3, 3], ...k3s1p1, bias: true, activation: { leakyRelu: 0.2 } }, false],
    // The grad-input of this one (40 -> 32 channels) runs as Winograd too.
    [{ x: [3, 32, 6, 5], weight: [40, 32, 3, 3], ...k3s1p1, bias: false }, false],
    // convTranspose2d k3 s1 p1 with tanh: the flipped kernel in the forward.
    [{ x: [2, 10, 5, 6], weight: [10, 32, 3, 3], ...k3s1p1, bias: true, activation: 'tanh' }, true],
  ];
  const engine = await testEngine();
  if (engine.subgroupMinSize < 8) return;
  for (const [c, transposed] of cases) {
    const candidates = gatherCandidates(engine, gatherGeometryOf(c, transposed));
    assert.ok(candidates.includes('winograd') && candidates.includes('winograd4'), describe(c));
  }
  // F(4x4, 3x3) is the default on a CPU adapter from an 8 x 8 output (the SRGAN's k3 s1 convs, 64
  // input channels included; F(2x2, 3x3), which it beat on all of them, is a tuner candidate), the
  // direct gathers below that; on GPUs both are later candidates.
  const wide = gatherGeometryOf({ x: [16, 128, 24, 24], weight: [256, 128, 3, 3], ...k3s1p1, bias: false }, false);
  const s1 = gatherGeometryOf({ x: [4, 64, 128, 128], weight: [64, 64, 3, 3], ...k3s1p1, bias: false }, false);
  const small = gatherGeometryOf({ x: [16, 512, 6, 6], weight: [512, 512, 3, 3], ...k3s1p1, bias: false }, false);
  if (engine.adapterKind === 'cpu') {
    assert.is(gatherCandidates(engine, wide)[0], 'winograd4');
    assert.is(gatherCandidates(engine, s1)[0], 'winograd4');
    assert.not.ok(['winograd', 'winograd4'].includes(gatherCandidates(engine, small)[0]!));
  }
  const gpuSized = await createEngine({ seed: 97, adapterKind: 'gpu' });
  try {
    assert.not.ok(['winograd', 'winograd4'].includes(gatherCandidates(gpuSized, wide)[0]!));
  } finally {
    gpuSized.destroy();
  }
  for (const gather of ['winograd', 'winograd4'] as const) {
    await withConvTuning({ gather, weightGrad: null }, async () => {
      for (const [c, transposed] of cases) await checkConv(c, transposed);
      // One tile row per chunk: each image in bands.
      winogradChunk.bytes = 1;
      await checkConv(cases[1][0], false);
    });
  }
  // Images over a chunk go in bands of tile rows: 16 x 16 (4 F(4x4, 3x3) tile rows of 36 x 64 x 4 floats
  // = 36,864 bytes each, so bands of at most 2 rows in a chunk of 80,000 bytes) and 20 x 16 (5 rows: 1, 2, 2).
  await withConvTuning({ gather: 'winograd4', weightGrad: null }, async () => {
    winogradChunk.bytes = 80_000;
    await checkConv({ x: [2, 8, 16, 16], weight: [64, 8, 3, 3], ...k3s1p1, bias: true }, false);
    await checkConv({ x: [1, 8, 20, 16], weight: [64, 8, 3, 3], ...k3s1p1, bias: false }, false);
  });
  // 12 x 12: whole 4x4 tiles, 64 -> 32 channels (the grad-input 32 -> 64 as well), F(4x4, 3x3)'s rounding
  // over a longer reduction. Rows of 32 and 48: the input transform reads a thread's 4 tiles' rows as vec4s
  // (transform_input_rows), the right-hand column from the next thread's first tile.
  await withConvTuning({ gather: 'winograd4', weightGrad: null }, async () => {
    await checkConv({ x: [2, 64, 12, 12], weight: [32, 64, 3, 3], ...k3s1p1, bias: true }, false);
    await checkConv({ x: [2, 8, 6, 32], weight: [32, 8, 3, 3], ...k3s1p1, bias: true }, false);
    await checkConv({ x: [1, 8, 9, 48], weight: [32, 8, 3, 3], ...k3s1p1, bias: false }, false);
  });
});

test('the Winograd F(3x3, 2x2) and F(3x3, 4x4) weight gradients for k3 s1 p1 agree with the reference: conv2d, convTranspose2d, chunks', async () => {
  const k3s1p1 = { stride: 1, padding: 1, bias: false };
  const cases: [Case, boolean][] = [
    // Odd sizes (partial 2x2 tiles), 33 gradient channels (m padded to 64), 8 input channels.
    [{ x: [2, 8, 7, 9], weight: [33, 8, 3, 3], ...k3s1p1 }, false],
    // convTranspose2d: x (32 channels) is the gradient side, dy (12 channels) the input side.
    [{ x: [3, 32, 5, 6], weight: [32, 12, 3, 3], ...k3s1p1 }, true],
    // Gradient sides of 8 x 8 or more take F(3x3, 4x4): partial 4x4 tiles (9 x 10), whole ones (12 x 8).
    [{ x: [2, 8, 9, 10], weight: [33, 8, 3, 3], ...k3s1p1 }, false],
    [{ x: [2, 32, 12, 8], weight: [32, 16, 3, 3], ...k3s1p1 }, true],
  ];
  const engine = await testEngine();
  const shape = (gradChannels: number, inChannels: number) => ({
    height: 3, width: 3, stride: 1, padding: 1, gradHeight: 8, gradWidth: 8, inChannels, inHeight: 8, inWidth: 8, gradChannels,
  });
  const applies = (s: ReturnType<typeof shape>) => weightGradCandidates(engine, s.gradChannels, s).includes('winograd');
  assert.is(applies(shape(33, 8)), engine.subgroupMinSize >= 8);
  // Input-side channels not a multiple of 4, or too few gradient channels: not Winograd. The default on a
  // CPU adapter from 16 input-side channels, as for k4 s2 p1.
  assert.not.ok(applies(shape(33, 6)));
  assert.not.ok(applies(shape(31, 8)));
  assert.is(weightGradCandidates(engine, 64, shape(64, 64))[0] === 'winograd', engine.adapterKind === 'cpu' && engine.subgroupMinSize >= 8);
  assert.is.not(weightGradCandidates(engine, 64, shape(64, 12))[0], 'winograd');
  if (engine.subgroupMinSize < 8) return;
  await withConvTuning({ gather: null, weightGrad: 'winograd' }, async () => {
    for (const [c, transposed] of cases) await checkConv(c, transposed);
    winogradChunk.bytes = 1;
    for (const [c, transposed] of cases) await checkConv(c, transposed);
  });
});

test('the default weight gradient: rows16 for 2 taps a thread (k3 s2, k4 s2), rows8 for 3 (k3 s1), not rows for 4 (k4 s1)', async () => {
  const engine = await testEngine();
  if (engine.subgroupMinSize < 8) return;
  // The register-blocked candidates (on a GPU the workgroup-memory tiles come before them).
  const blocked = (...args: Parameters<typeof weightGradCandidates>) => weightGradCandidates(...args).filter((v) => !v.startsWith('tile'));
  const sides = { gradHeight: 32, gradWidth: 32, inChannels: 64, inHeight: 32, inWidth: 32 };
  // (With 16 input channels or more, the Winograd sums come first: see their test.)
  assert.is(blocked(engine, 64, { ...sides, inChannels: 12, height: 3, width: 3, stride: 1, padding: 1 })[0], 'rows8');
  assert.equal(blocked(engine, 64, { ...sides, inChannels: 12, height: 3, width: 3, stride: 2, padding: 1 }).slice(0, 3), ['rows16', 'rows32', 'rows8']);
  assert.is(blocked(engine, 64, { ...sides, inChannels: 12, height: 4, width: 4, stride: 2, padding: 1 })[0], 'rows16');
  // With 1-2 input channels taps16 stays first.
  assert.is(blocked(engine, 64, { ...sides, inChannels: 2, height: 3, width: 3, stride: 2, padding: 1 })[0], 'taps16');
  // The CGAN generator's first layer (1x1 -> 4x4), and a 32 x 32 one.
  const first = blocked(engine, 150, { height: 4, width: 4, stride: 1, padding: 0, gradHeight: 1, gradWidth: 1, inChannels: 512, inHeight: 4, inWidth: 4 });
  const k4s1 = blocked(engine, 64, { ...sides, height: 4, width: 4, stride: 1, padding: 2 });
  for (const candidates of [first, k4s1]) {
    assert.is(candidates[0], 'subgroup16');
    assert.ok(candidates.slice(-3).every((v) => v.startsWith('rows')), candidates.join(', '));
  }
});

test('the Winograd F(2x2, 3x3) weight gradient agrees with the reference: conv2d, convTranspose2d, chunks of images', async () => {
  const k4s2p1 = { stride: 2, padding: 1, bias: false };
  // The gradient side (conv2d's dy, convTranspose2d's x) needs 32 channels or more.
  const cases: [Case, boolean][] = [
    // Partial tiles (5 x 7 gradient positions in 3 x 3 tiles), m padded from 33 to 64, 3 input channels.
    [{ x: [2, 3, 10, 14], weight: [33, 3, 4, 4], ...k4s2p1 }, false],
    // convTranspose2d: x (40 channels, 4 x 6) is the gradient side, dy (8 channels, 8 x 12) the input side.
    [{ x: [2, 40, 4, 6], weight: [40, 8, 4, 4], ...k4s2p1 }, true],
    // 3 images of 2 tiles.
    [{ x: [3, 10, 8, 6], weight: [32, 10, 4, 4], ...k4s2p1 }, false],
  ];
  const shapeOf = (c: Case, transposed: boolean) => {
    const [n, cin, h, w] = c.x;
    const [small, large] = transposed ? [[cin, h, w], [c.weight[1], 2 * h, 2 * w]] : [[c.weight[0], h / 2, w / 2], [cin, h, w]];
    return {
      height: 4, width: 4, stride: 2, padding: 1, gradHeight: small[1], gradWidth: small[2], inChannels: large[0], inHeight: large[1], inWidth: large[2],
      gradChannels: small[0], batch: n,
    };
  };
  const engine = await testEngine();
  for (const [c, transposed] of cases) {
    const { gradChannels, ...shape } = shapeOf(c, transposed);
    assert.is(weightGradCandidates(engine, gradChannels, shape).includes('winograd'), engine.subgroupMinSize >= 8, describe(c));
  }
  // 31 gradient channels, or an odd size: not Winograd.
  const narrow = shapeOf({ x: [2, 31, 4, 6], weight: [31, 8, 4, 4], ...k4s2p1 }, true);
  assert.not.ok(weightGradCandidates(engine, narrow.gradChannels, narrow).includes('winograd'));
  const odd = shapeOf({ x: [2, 3, 9, 14], weight: [33, 3, 4, 4], ...k4s2p1 }, false);
  assert.not.ok(weightGradCandidates(engine, odd.gradChannels, { ...odd, gradHeight: 4 }).includes('winograd'));
  // The default on a CPU adapter where the input side has 16 channels or more and the gradient side is 8 x 8 or
  // more (the bench's G2 and D2); not for a 4 x 4 gradient side, a 1-channel input side (G4), or on GPUs.
  const g2 = shapeOf({ x: [16, 256, 16, 16], weight: [256, 128, 4, 4], ...k4s2p1 }, true);
  const d2 = shapeOf({ x: [16, 64, 64, 64], weight: [128, 64, 4, 4], ...k4s2p1 }, false);
  const fourByFour = shapeOf({ x: [16, 512, 4, 4], weight: [512, 256, 4, 4], ...k4s2p1 }, true);
  const g4 = shapeOf({ x: [16, 64, 64, 64], weight: [64, 1, 4, 4], ...k4s2p1 }, true);
  const cpuDefault = engine.adapterKind === 'cpu' && engine.subgroupMinSize >= 8;
  for (const s of [g2, d2]) assert.is(weightGradCandidates(engine, s.gradChannels, s)[0] === 'winograd', cpuDefault, `${s.gradChannels} x ${s.inChannels}`);
  for (const s of [fourByFour, g4]) assert.is.not(weightGradCandidates(engine, s.gradChannels, s)[0], 'winograd');
  const gpuSized = await createEngine({ seed: 98, adapterKind: 'gpu' });
  try {
    assert.is.not(weightGradCandidates(gpuSized, g2.gradChannels, g2)[0], 'winograd');
  } finally {
    gpuSized.destroy();
  }
  if (engine.subgroupMinSize < 8) return;
  await withConvTuning({ gather: null, weightGrad: 'winograd' }, async () => {
    for (const [c, transposed] of cases) await checkConv(c, transposed);
    // One image per chunk (the later ones add to the products); then chunks of 2 and 1 images (case 2:
    // 2 tiles of 16 x max(4 x 10, 32) floats an image).
    winogradChunk.bytes = 1;
    await checkConv(cases[0][0], false);
    await checkConv(cases[1][0], true);
    winogradChunk.bytes = 2 * 2 * 16 * 40 * 4;
    await checkConv(cases[2][0], false);
  });
});

test('phases8 with aligned vec4 input rows (PHASE_VEC4) agrees with the reference', async () => {
  // Input rows a multiple of 4 long: one block of 8 columns a row (width 4 and 8: the second vec4 and
  // the right-hand column past the row), two blocks (width 16: both neighbours' columns inside; width
  // 12: the second block half past the row). The conv2d's grad-input is the same convTranspose2d.
  const k4s2p1 = { stride: 2, padding: 1, bias: true };
  const cases: [Case, boolean][] = [
    [{ x: [2, 9, 5, 12], weight: [9, 1, 4, 4], ...k4s2p1 }, true],
    [{ x: [1, 10, 3, 16], weight: [10, 2, 4, 4], ...k4s2p1, bias: false }, true],
    [{ x: [1, 3, 4, 4], weight: [3, 1, 4, 4], ...k4s2p1 }, true],
    [{ x: [2, 4, 6, 8], weight: [4, 3, 4, 4], ...k4s2p1, activation: 'tanh' }, true],
    [{ x: [2, 1, 16, 24], weight: [7, 1, 4, 4], ...k4s2p1 }, false],
  ];
  const saved = { ...convTuning };
  try {
    Object.assign(convTuning, { gather: 'phases8', weightGrad: null });
    for (const [c, transposed] of cases) await checkConv(c, transposed);
  } finally {
    Object.assign(convTuning, saved);
  }
});

test('pixels8 and pixels16 with aligned vec4 strips (PIXEL_VEC4) agree with the reference', async () => {
  // k9 p4 at stride 1 (the SRGAN's tail) on rows a multiple of 4 long: strips start 4 columns left of a
  // thread's first output, so the first vec4 of a row's first strip lies in the padding and the last
  // strip runs past the row's end (width 12 with pixels16: half of the only strip's vec4s).
  const k9s1p4 = { stride: 1, padding: 4 };
  const cases: [Case, boolean][] = [
    [{ x: [2, 5, 6, 16], weight: [2, 5, 9, 9], ...k9s1p4, bias: true }, false],
    [{ x: [1, 9, 4, 12], weight: [1, 9, 9, 9], ...k9s1p4, bias: true, activation: 'tanh' }, false],
    [{ x: [2, 6, 5, 12], weight: [6, 3, 9, 9], ...k9s1p4, bias: false }, true],
    // 16 input channels to 1, as the tail's 64: whole banks of 8 (PIXEL_WHOLE_BANKS).
    [{ x: [2, 16, 5, 12], weight: [1, 16, 9, 9], ...k9s1p4, bias: true }, false],
  ];
  // Not aligned: padding 1 (strips start at -1), a row of 10, stride 2.
  const unaligned: [Case, boolean][] = [
    [{ x: [1, 4, 6, 8], weight: [2, 4, 3, 3], stride: 1, padding: 1, bias: true }, false],
    [{ x: [1, 4, 6, 10], weight: [2, 4, 9, 9], ...k9s1p4, bias: true }, false],
    [{ x: [1, 4, 8, 16], weight: [2, 4, 9, 9], stride: 2, padding: 4, bias: true }, false],
  ];
  for (const [c, transposed] of unaligned) assert.is(pixelStripAligned(gatherGeometryOf(c, transposed), 8), false, describe(c));
  const saved = { ...convTuning };
  try {
    for (const gather of ['pixels8', 'pixels16'] as const) {
      Object.assign(convTuning, { gather, weightGrad: null });
      for (const [c, transposed] of cases) {
        assert.ok(pixelStripAligned(gatherGeometryOf(c, transposed), Number(gather.slice(6))), describe(c));
        await checkConv(c, transposed);
      }
    }
  } finally {
    Object.assign(convTuning, saved);
  }
});

test('rows weight gradients from channel quads (INPUT_QUADS, CPU adapters) and from NCHW agree with the reference', async () => {
  // Input channels that leave the last quad part empty (3, 5, 6, 7), strides 1-3, paddings 0-3, kernels
  // 3-5 wide, odd row lengths; on this adapter's engine (quads on a CPU adapter) and on a GPU-sized one
  // (scalar loads from the NCHW input).
  const cases: [Case, boolean][] = [
    [{ x: [2, 6, 5, 8], weight: [10, 6, 3, 3], stride: 1, padding: 1, bias: true }, false],
    [{ x: [1, 5, 4, 11], weight: [9, 5, 3, 3], stride: 1, padding: 0, bias: false }, false],
    [{ x: [1, 4, 6, 8], weight: [8, 4, 4, 4], stride: 1, padding: 2, bias: false }, false],
    [{ x: [1, 3, 7, 9], weight: [12, 3, 4, 4], stride: 2, padding: 1, bias: true }, false],
    [{ x: [2, 5, 9, 10], weight: [8, 5, 3, 3], stride: 3, padding: 1, bias: false }, false],
    [{ x: [2, 6, 4, 8], weight: [6, 9, 3, 3], stride: 1, padding: 1, bias: true }, true],
    [{ x: [1, 10, 5, 6], weight: [10, 3, 4, 4], stride: 2, padding: 1, bias: false }, true],
    // Kernel columns that the stride does not divide: one dispatch per kx0 (k3 s2: taps 0, 2 and tap 1; k5 s2: 3 and 2).
    [{ x: [2, 7, 9, 12], weight: [8, 7, 3, 3], stride: 2, padding: 1, bias: true }, false],
    [{ x: [1, 6, 5, 6], weight: [6, 9, 3, 3], stride: 2, padding: 1, outputPadding: 1, bias: false }, true],
    [{ x: [1, 4, 11, 13], weight: [9, 4, 5, 5], stride: 2, padding: 2, bias: false }, false],
  ];
  const saved = { ...convTuning };
  const gpuSized = await createEngine({ seed: 1357, adapterKind: 'gpu' });
  try {
    for (const weightGrad of ['rows8', 'rows16'] as const) {
      Object.assign(convTuning, { gather: null, weightGrad });
      for (const [c, transposed] of weightGrad === 'rows8' ? cases : cases.slice(0, 2)) await checkConv(c, transposed);
    }
    Object.assign(convTuning, { gather: null, weightGrad: 'rows8' });
    for (const [c, transposed] of [cases[0]!, cases[3]!, cases[7]!]) await checkConv(c, transposed, false, gpuSized);
  } finally {
    Object.assign(convTuning, saved);
    gpuSized.destroy();
  }
});

test('taps16 weight gradient (window side of 1-2 channels) agrees with the reference', async () => {
  // Teams of 1, 2, 4 and 8 threads, 3 threads in a team of 4, and 27 (a 9 x 9 kernel) in a team of
  // 32, wider than lavapipe's subgroups (gradients shared within each subgroup); kernels of 1-3
  // tap quads (the last partly empty); strides 1 and 2; gradient channels that leave the last group
  // of 16 part empty; row counts that do not divide among the teams. Gradient rows are whole vec4s.
  const cases: [Case, boolean][] = [
    [{ x: [3, 1, 9, 8], weight: [20, 1, 4, 4], stride: 2, padding: 1, bias: false }, false],
    [{ x: [2, 2, 7, 8], weight: [6, 2, 2, 3], stride: 1, padding: 1, bias: true }, false],
    [{ x: [1, 1, 6, 16], weight: [5, 1, 1, 5], stride: 1, padding: 2, bias: false }, false],
    [{ x: [2, 2, 8, 8], weight: [17, 2, 4, 4], stride: 2, padding: 1, bias: false }, false],
    [{ x: [1, 1, 5, 8], weight: [3, 1, 1, 3], stride: 1, padding: 1, bias: true }, false],
    [{ x: [2, 12, 4, 8], weight: [12, 1, 4, 4], stride: 2, padding: 1, bias: true }, true],
    [{ x: [2, 1, 9, 12], weight: [18, 1, 3, 3], stride: 1, padding: 1, bias: true }, false],
    [{ x: [2, 1, 11, 12], weight: [7, 1, 9, 9], stride: 1, padding: 4, bias: true }, false],
  ];
  const saved = { ...convTuning };
  try {
    Object.assign(convTuning, { gather: null, weightGrad: 'taps16' });
    for (const [c, transposed] of cases) {
      const out = (size: number, k: number) => transposed ? (size - 1) * c.stride - 2 * c.padding + k : Math.floor((size + 2 * c.padding - k) / c.stride) + 1;
      const [kernelHeight, kernelWidth] = c.weight.slice(2);
      // conv2d: the gradient side is dy, the window side x; convTranspose2d the other way round.
      const gradChannels = transposed ? c.x[1] : c.weight[0];
      const shape = {
        height: kernelHeight, width: kernelWidth, stride: c.stride,
        inChannels: transposed ? c.weight[1] : c.x[1], gradWidth: transposed ? c.x[3] : out(c.x[3], kernelWidth),
        gradHeight: transposed ? c.x[2] : out(c.x[2], kernelHeight), inHeight: transposed ? out(c.x[2], kernelHeight) : c.x[2],
        inWidth: transposed ? out(c.x[3], kernelWidth) : c.x[3], padding: c.padding,
      };
      assert.ok(weightGradCandidates(await testEngine(), gradChannels, shape).includes('taps16'), describe(c));
      await checkConv(c, transposed);
    }
  } finally {
    Object.assign(convTuning, saved);
  }
});

test('weight gradients with the sides swapped (1-2 gradient channels, stride 1) agree with the reference', async () => {
  // conv2d to 1 or 2 channels (the SRGAN's last 9 x 9 conv), padding 0 to k - 1; convTranspose2d from 1
  // channel (its gradient side is x). Each with the swap checked to apply.
  const cases: [Case, boolean][] = [
    [{ x: [2, 6, 10, 12], weight: [1, 6, 5, 5], stride: 1, padding: 2, bias: true }, false],
    [{ x: [1, 9, 13, 16], weight: [2, 9, 9, 9], stride: 1, padding: 4, bias: true }, false],
    [{ x: [2, 5, 7, 8], weight: [1, 5, 3, 3], stride: 1, padding: 0, bias: false }, false],
    [{ x: [2, 5, 7, 8], weight: [2, 5, 3, 3], stride: 1, padding: 2, bias: false }, false],
    [{ x: [2, 1, 6, 8], weight: [1, 7, 3, 3], stride: 1, padding: 1, bias: true }, true],
  ];
  const saved = { ...convTuning };
  try {
    for (const [c, transposed] of cases) {
      const [kernel] = c.weight.slice(2);
      const outSize = (size: number) => transposed ? size - 1 - 2 * c.padding + kernel : size + 2 * c.padding - kernel + 1;
      // conv2d: gradient side dy (weight[0] channels), window side x; convTranspose2d: x, then dy.
      const [gradChannels, inChannels, inWidth] = transposed ? [c.x[1], c.weight[1], outSize(c.x[3])] : [c.weight[0], c.x[1], c.x[3]];
      assert.ok(weightGradSwap(gradChannels, inChannels, kernel, kernel, 1, c.padding, inWidth), describe(c));
      // taps16 (the default), and plain4: what an adapter without subgroups runs swapped (plain16 or 8 where they fill).
      for (const weightGrad of [null, 'plain4'] as const) {
        Object.assign(convTuning, { gather: null, weightGrad });
        await checkConv(c, transposed);
      }
    }
  } finally {
    Object.assign(convTuning, saved);
  }
  // Not where the gradient side has more channels, or at stride 2.
  assert.not.ok(weightGradSwap(4, 6, 3, 3, 1, 1, 12));
  assert.not.ok(weightGradSwap(1, 6, 4, 4, 2, 1, 12));
});

test('PyTorch vectors: every conv2d and conv_transpose2d case', async () => {
  const engine = await testEngine();
  const cases = Object.entries(loadOpsVectors().cases).filter(([, v]) => v.op === 'conv2d' || v.op === 'conv_transpose2d');
  if (cases.length < 10) throw new Error(`only ${cases.length} conv cases in ops.json`);
  for (const [name, vector] of cases) {
    const tensor = (key: string) => {
      const entry = vector.inputs[key]!;
      const t = engine.fromArray(tensorValues(entry), entry.shape, 'f32', key);
      t.requiresGrad = true;
      return t;
    };
    const x = tensor('x');
    const weight = tensor('weight');
    const bias = vector.config['bias'] ? tensor('bias') : null;
    const options = { stride: vector.config['stride'] as number, padding: vector.config['padding'] as number };
    const out = vector.op === 'conv2d' ? conv2d(x, weight, bias, options)
      : convTranspose2d(x, weight, bias, { ...options, outputPadding: vector.config['output_padding'] as number });
    const upstream = vector.grad_outputs!['output']!;
    backward(out, engine.fromArray(tensorValues(upstream), upstream.shape, 'f32', 'upstream'));
    const named = { x, weight, ...(bias ? { bias } : {}) };
    const [actual, ...grads] = await engine.read([out, ...Object.values(named).map((t) => t.grad!)]);
    const tolerance = { atol: 1e-4, rtol: 1e-4 };
    assertClose(actual!, tensorValues(vector.outputs['output']!), tolerance, `${name} output`);
    Object.keys(named).forEach((key, i) => assertClose(grads[i]!, tensorValues(vector.grads![key]!), tolerance, `${name} grad ${key}`));
    for (const t of [out, x, weight, ...(bias ? [bias] : [])]) t.dispose();
  }
});

test.run();
