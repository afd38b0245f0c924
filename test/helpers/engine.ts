// One engine per test process (device creation costs ~0.2 s), shared by every GPU test file.

import { Engine, type EngineOptions } from '../../engine/runtime.ts';

let shared: Promise<Engine> | null = null;

export function testEngine(): Promise<Engine> {
  shared ??= Engine.create({ seed: 1234 });
  return shared;
}

export function createEngine(options: EngineOptions = {}): Promise<Engine> {
  return Engine.create(options);
}
