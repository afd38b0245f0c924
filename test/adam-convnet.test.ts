// A small conv net trained by the engine against PyTorch: 5 Adam steps from the same weights on the
// same batch match torch's losses and weights; and 100 training steps leave live GPU bytes flat.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Engine } from '../engine/runtime.ts';
import type { Tensor } from '../engine/tensor.ts';
import { conv2d, convTranspose2d } from '../engine/ops/conv.ts';
import { leakyRelu, tanh } from '../engine/ops/elementwise.ts';
import { mse } from '../engine/ops/losses.ts';
import { backward } from '../engine/ops/backward.ts';
import { Adam } from '../engine/optim/adam.ts';
import { Module, batchNormSpecs, constant, parameter } from '../models/module.ts';
import { runBatchNorm } from '../models/batchnorm-layer.ts';
import { assertClose } from './helpers/finite-diff.ts';
import { loadAdamConvnetVectors, tensorValues } from './helpers/torch-vectors.ts';
import { testEngine } from './helpers/engine.ts';

/** Conv2d(2,4,3,p1,no bias) -> BN(4) -> LeakyReLU(0.2) -> ConvTranspose2d(4,3,4,s2,p1) -> tanh, as in the vector's description. */
class TinyNet extends Module {
  constructor(engine: Engine) {
    super(engine, 'net', [
      parameter('conv.weight', [4, 2, 3, 3], constant(0)),
      ...batchNormSpecs('bn', 4),
      parameter('deconv.weight', [4, 3, 4, 4], constant(0)),
      parameter('deconv.bias', [3], constant(0)),
    ]);
  }

  forward(x: Tensor): Tensor {
    const h = conv2d(x, this.tensor('conv.weight'), null, { stride: 1, padding: 1 });
    const y = leakyRelu(runBatchNorm(this, 'bn', h, true), 0.2);
    return tanh(convTranspose2d(y, this.tensor('deconv.weight'), this.tensor('deconv.bias'), { stride: 2, padding: 1 }));
  }
}

test('5 Adam steps match PyTorch: losses, weights and BN running statistics', async () => {
  const engine = await testEngine();
  const vectors = loadAdamConvnetVectors();
  const net = new TinyNet(engine);
  for (const [name, entry] of Object.entries(vectors.initial_state_dict)) {
    if (name.endsWith('num_batches_tracked')) continue;
    engine.upload(net.tensor(name), Float32Array.from(tensorValues(entry)));
  }
  const optimizer = new Adam(net.params, { lr: 0.01, betas: [0.5, 0.999], eps: 1e-8 });
  const input = engine.keep(engine.fromArray(tensorValues(vectors.input), vectors.input.shape));
  const target = engine.keep(engine.fromArray(tensorValues(vectors.target), vectors.target.shape));
  const losses: number[] = [];
  for (let step = 0; step < 5; step++) {
    const loss = engine.tidy(() => {
      net.params.zeroGrad();
      const value = mse(net.forward(input), target);
      backward(value);
      optimizer.step();
      return value;
    });
    losses.push((await loss.toArray())[0]);
    loss.dispose();
  }
  const torch = vectors.runs.float32;
  assertClose(losses, torch.losses, { atol: 1e-6, rtol: 1e-5 }, 'losses');
  for (const [name, entry] of Object.entries(torch.state_dict)) {
    if (name.endsWith('num_batches_tracked')) {
      assert.is(net.counters.get(name), entry.data[0]);
      continue;
    }
    assertClose(await net.tensor(name).toArray(), tensorValues(entry), { atol: 1e-6, rtol: 1e-5 }, name);
  }
  for (const t of [input, target]) t.dispose();
  optimizer.dispose();
  net.dispose();
});

test('100 forward/backward/Adam steps: live GPU bytes flat after warm-up', async () => {
  const engine = await testEngine();
  const net = new TinyNet(engine);
  net.initialize(3);
  const optimizer = new Adam(net.params, { lr: 1e-3 });
  const input = engine.keep(engine.fromArray(new Float32Array(2 * 2 * 6 * 6).map((_, i) => Math.sin(i)), [2, 2, 6, 6]));
  const target = engine.keep(engine.fromArray(new Float32Array(2 * 3 * 12 * 12).map((_, i) => Math.cos(i) * 0.5), [2, 3, 12, 12]));
  const step = () => engine.tidy(() => {
    net.params.zeroGrad();
    backward(mse(net.forward(input), target));
    optimizer.step();
  });
  for (let i = 0; i < 5; i++) step();
  await engine.sync();
  const warm = engine.memory();
  for (let i = 0; i < 100; i++) step();
  await engine.sync();
  const after = engine.memory();
  assert.is(after.liveBytes, warm.liveBytes);
  assert.is(after.created, warm.created, 'no new GPU buffers after warm-up');
  for (const t of [input, target]) t.dispose();
  optimizer.dispose();
  net.dispose();
});

test.run();
