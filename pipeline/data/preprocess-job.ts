// One unit of `prepare` work, shared by the worker threads and the inline path: PNG -> (hr, lr) planes.

import { join } from 'node:path';
import { readGreyPng, writeGreyPng } from './png.ts';
import { preprocess } from './preprocess.ts';

export interface PreprocessJob {
  path: string;
  imageIndex: string;
  /** when set, also write pngDir/hr/<imageIndex> and pngDir/lr/<imageIndex> */
  pngDir?: string;
}

export interface PreprocessResult {
  hr: Uint8Array;
  lr: Uint8Array;
}

export function preprocessFile(job: PreprocessJob): PreprocessResult {
  const { hr, lr } = preprocess(readGreyPng(job.path));
  if (job.pngDir !== undefined) {
    writeGreyPng(join(job.pngDir, 'hr', job.imageIndex), hr);
    writeGreyPng(join(job.pngDir, 'lr', job.imageIndex), lr);
  }
  return { hr: hr.data, lr: lr.data };
}
