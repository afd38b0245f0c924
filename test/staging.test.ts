// Uploads and readbacks reuse their host-visible staging buffers: after a warm-up, a loop of
// uploads and reads creates none, and the data still round-trips exactly.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testEngine } from './helpers/engine.ts';

test('a steady upload/read loop reuses its staging buffers', async () => {
  const engine = await testEngine();
  const tensor = engine.empty([1000], 'f32', 'staging test');
  const small = engine.empty([3], 'i32', 'staging test small');
  try {
    let createdAfterWarmUp = 0;
    for (let step = 0; step < 30; step++) {
      const values = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5 + step);
      engine.upload(tensor, values);
      engine.upload(small, Int32Array.of(step, -step, 7));
      const [read, readSmall] = await engine.read([tensor, small]);
      assert.equal(Array.from(read), Array.from(values), `step ${step}`);
      assert.equal(Array.from(readSmall), [step, -step, 7], `step ${step}`);
      if (step === 4) createdAfterWarmUp = engine.stagingBuffersCreated;
    }
    assert.is(engine.stagingBuffersCreated, createdAfterWarmUp, 'staging buffers created after warm-up');
  } finally {
    tensor.dispose();
    small.dispose();
  }
});

test.run();
