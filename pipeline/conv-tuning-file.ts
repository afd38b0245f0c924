// The conv autotuner's choices on disk (engine/ops/conv-autotune.ts): one JSON file holding a table
// per adapter, so a shape is timed once per machine and every later run picks the same kernels.
// Written atomically; a damaged file is reported by name, never silently replaced.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Engine } from '../engine/runtime.ts';
import { BadInputFileError } from '../engine/errors.ts';
import { enableConvAutotune, exportConvTuning, pendingConvShapes, tuneConvolutions, type ConvTuningTable } from '../engine/ops/conv-autotune.ts';

const FORMAT = 'xraygen-conv-tuning-1';

interface TuningFile {
  format: string;
  adapters: Record<string, ConvTuningTable>;
}

export function defaultTuningPath(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'xraygen', 'conv-tuning.json');
}

/** The file behind an `--autotune [file]` flag: none when absent, the default path when given bare. */
export function tuningPathFlag(flag: string | boolean | undefined): string | undefined {
  return flag === undefined || flag === false ? undefined : flag === true ? defaultTuningPath() : flag;
}

function readTuningFile(path: string): TuningFile {
  if (!existsSync(path)) return { format: FORMAT, adapters: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new BadInputFileError(path, `not a conv tuning file (${(error as Error).message}); delete it to start over`);
  }
  const file = parsed as TuningFile;
  const valid = typeof file === 'object' && file !== null && file.format === FORMAT && typeof file.adapters === 'object' && file.adapters !== null
    && Object.values(file.adapters).every((table) => typeof table === 'object' && table !== null && Object.values(table).every((v) => typeof v === 'string'));
  if (!valid) throw new BadInputFileError(path, `not a conv tuning file (expected format '${FORMAT}'); delete it to start over`);
  return file;
}

/** Turns autotuning on for `engine` with the choices `path` holds for its adapter. */
export function startAutotune(engine: Engine, path: string): number {
  const table = readTuningFile(path).adapters[engine.describe()] ?? {};
  enableConvAutotune(engine, table);
  return Object.keys(table).length;
}

/** Times the shapes met since the last call that have no choice yet, and saves the table. */
export async function finishAutotune(engine: Engine, path: string, log: (line: string) => void): Promise<number> {
  if (pendingConvShapes(engine) === 0) return 0;
  const tuned = await tuneConvolutions(engine, log);
  const file = readTuningFile(path);
  file.adapters[engine.describe()] = { ...file.adapters[engine.describe()], ...exportConvTuning(engine) };
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(file, null, 1)}\n`);
  renameSync(temporary, path);
  return tuned;
}
