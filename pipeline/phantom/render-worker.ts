// Worker thread entry for `phantom`: render one image and write its PNG.

import { serveJobs } from '../data/worker-pool.ts';
import { renderToFile, type RenderJob } from './render-job.ts';

serveJobs<RenderJob, null>(renderToFile);
