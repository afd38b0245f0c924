// The embeddable library (dist/xraygen.js): registers the bundled WGSL, then exports the
// generator API. Import it from a page: `import { createGenerator } from './xraygen.js'`.

import shaderSources from 'xraygen:shaders';
import { registerShaderSources } from '../engine/shader-source.ts';

registerShaderSources(shaderSources);

export { createGenerator, toImageData, toPngBlob } from '../pipeline/generate/browser.ts';
export type { BrowserGenerateRequest, BrowserGeneration, BrowserImage, CreateGeneratorOptions, XrayGenerator } from '../pipeline/generate/browser.ts';
export { cliLabelNames, findingNames } from '../pipeline/data/labels.ts';
export { formatBytes } from '../engine/memory.ts';
export type { ConvTuningTable } from '../engine/ops/conv-autotune.ts';
