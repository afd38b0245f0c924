// A few cases of the randomised conv sweep (test/helpers/conv-sweep.ts), every variant, on an engine
// sized for this adapter and on one sized for a GPU (whose defaults are the workgroup-memory tiles).
// Longer sweeps: `npm run test:conv-sweep -- --cases 200 --seed 5 [--large]`.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, testEngine } from './helpers/engine.ts';
import { randomConvCase, sweepConvCase } from './helpers/conv-sweep.ts';
import { mulberry32 } from './helpers/random.ts';

test('randomised conv geometries agree with the reference under every variant', async () => {
  const engines = [await testEngine(), await createEngine({ seed: 99, adapterKind: 'gpu' })];
  const rng = mulberry32(2026);
  const failures: string[] = [];
  let ran = 0;
  try {
    for (let i = 0; i < 6; i++) {
      const c = randomConvCase(rng);
      for (const engine of engines) {
        const result = await sweepConvCase(engine, c, rng);
        failures.push(...result.failures);
        ran += result.ran;
      }
    }
  } finally {
    engines[1]!.destroy();
  }
  assert.equal(failures, []);
  // Each case runs several gather and weight-gradient variants, not only the defaults.
  assert.ok(ran >= 6 * 2 * 4, `only ${ran} variant combinations ran`);
});

test.run();
