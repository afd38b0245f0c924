// recomputeBatchNormStatistics: after k training-mode passes the running mean and variance are the
// plain mean of the k batch statistics (float64 reference), and the module's momentum and
// num_batches_tracked counters are as they were.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testEngine } from './helpers/engine.ts';
import { assertClose } from './helpers/finite-diff.ts';
import { mulberry32, randn } from './helpers/random.ts';
import { Module, batchNormSpecs } from '../models/module.ts';
import { runBatchNorm } from '../models/batchnorm-layer.ts';
import { recomputeBatchNormStatistics } from '../models/standing-statistics.ts';

test('running statistics become the mean of the batch statistics', async () => {
  const engine = await testEngine();
  const [n, channels, size, batches] = [3, 4, 5, 6];
  const module = new Module(engine, 'model', batchNormSpecs('bn', channels));
  module.initialize(1);
  module.counters.set('bn.num_batches_tracked', 41);
  const rng = mulberry32(7);
  // Each batch with its own scale and offset, so that any weighting other than the plain mean shows.
  const inputs = Array.from({ length: batches }, (_, b) => randn(n * channels * size * size, rng).map((v) => (1 + b) * v + b));
  try {
    await recomputeBatchNormStatistics(module, batches, (b) =>
      runBatchNorm(module, 'bn', engine.fromArray(Float32Array.from(inputs[b]!), [n, channels, size, size]), true, { leakyRelu: 0.2 }));
    const expectedMean = new Float64Array(channels);
    const expectedVar = new Float64Array(channels);
    const count = n * size * size;
    for (const values of inputs) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        let squares = 0;
        for (let i = 0; i < n; i++) for (let p = 0; p < size * size; p++) sum += values[(i * channels + c) * size * size + p]!;
        const mean = sum / count;
        for (let i = 0; i < n; i++) for (let p = 0; p < size * size; p++) squares += (values[(i * channels + c) * size * size + p]! - mean) ** 2;
        expectedMean[c]! += mean / batches;
        expectedVar[c]! += squares / (count - 1) / batches;
      }
    }
    const [runningMean, runningVar] = await engine.read([module.tensor('bn.running_mean'), module.tensor('bn.running_var')]);
    assertClose(runningMean as Float32Array, expectedMean, { atol: 1e-4, rtol: 1e-4 }, 'running_mean');
    assertClose(runningVar as Float32Array, expectedVar, { atol: 1e-4, rtol: 1e-4 }, 'running_var');
    assert.is(module.counters.get('bn.num_batches_tracked'), 41);
    assert.is(module.batchNormMomentum, 0.1);
  } finally {
    module.dispose();
  }
});

test.run();
