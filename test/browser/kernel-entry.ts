// Browser entry of the kernel suite: registers the bundled WGSL, opens the page's WebGPU device and
// leaves the results, and profiles of a small training step (test/browser/profile-step.ts: with
// timestamps and with the CPU clock), on
// `window.kernelSuite` for the runner to collect.

import shaderSources from 'xraygen:shaders';
import { registerShaderSources } from '../../engine/shader-source.ts';
import { Engine } from '../../engine/runtime.ts';
import { runKernelSuite, type KernelCaseResult } from './kernel-suite.ts';
import { profileTrainingStep, type BrowserProfile } from './profile-step.ts';

registerShaderSources(shaderSources);

const suite = window as unknown as { kernelSuite: Promise<{ adapter: string; results: KernelCaseResult[]; profiles: BrowserProfile[] }> };
suite.kernelSuite = (async () => {
  const engine = await Engine.create({ seed: 1234 });
  const results = await runKernelSuite(engine);
  const profiles = [await profileTrainingStep(engine), await profileTrainingStep(engine, false)];
  engine.destroy();
  return { adapter: engine.describe(), results, profiles };
})();
