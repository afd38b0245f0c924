// Browser entry of the kernel suite: registers the bundled WGSL, opens the page's WebGPU device and
// leaves the results on `window.kernelSuite` for the runner to collect.

import shaderSources from 'xraygen:shaders';
import { registerShaderSources } from '../../engine/shader-source.ts';
import { Engine } from '../../engine/runtime.ts';
import { runKernelSuite, type KernelCaseResult } from './kernel-suite.ts';

registerShaderSources(shaderSources);

const suite = window as unknown as { kernelSuite: Promise<{ adapter: string; results: KernelCaseResult[] }> };
suite.kernelSuite = (async () => {
  const engine = await Engine.create({ seed: 1234 });
  const results = await runKernelSuite(engine);
  engine.destroy();
  return { adapter: engine.describe(), results };
})();
