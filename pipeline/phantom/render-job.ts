// One unit of `phantom` work, shared by the worker threads and the inline path: render and write one PNG.

import { writeGreyPng } from '../data/png.ts';
import { makePhantomSpec, type PhantomFindings } from './anatomy.ts';
import { renderPhantom } from './render.ts';

export interface RenderJob {
  seed: number;
  patient: number;
  image: number;
  findings: PhantomFindings;
  path: string;
  size: number;
}

export function renderToFile(job: RenderJob): null {
  const image = renderPhantom(makePhantomSpec(job.seed, job.patient, job.image, job.findings), job.size);
  // level 3 deflate: a third faster than the default for a few percent more bytes
  writeGreyPng(job.path, image, 3);
  return null;
}
