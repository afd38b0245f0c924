// Worker thread entry for `prepare`: decode one PNG, preprocess it, optionally write its PNGs.

import { serveJobs } from './worker-pool.ts';
import { preprocessFile, type PreprocessJob, type PreprocessResult } from './preprocess-job.ts';

serveJobs<PreprocessJob, PreprocessResult>(preprocessFile);
