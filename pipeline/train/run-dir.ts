// The layout of a training run folder and the small files in it: config.json, metrics.jsonl,
// samples/step-XXXXXXX.png, checkpoints/, weights.safetensors, report.html.

import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StepMetrics } from './trainer.ts';

export class RunDirectory {
  readonly config: string;
  readonly metrics: string;
  readonly samples: string;
  readonly checkpoints: string;
  readonly weights: string;
  readonly report: string;

  constructor(readonly root: string) {
    this.config = join(root, 'config.json');
    this.metrics = join(root, 'metrics.jsonl');
    this.samples = join(root, 'samples');
    this.checkpoints = join(root, 'checkpoints');
    this.weights = join(root, 'weights.safetensors');
    this.report = join(root, 'report.html');
  }

  create(): void {
    for (const dir of [this.root, this.samples, this.checkpoints]) mkdirSync(dir, { recursive: true });
  }

  samplePath(step: number): string {
    return join(this.samples, `step-${String(step).padStart(7, '0')}.png`);
  }

  writeJsonAtomic(path: string, value: unknown): void {
    writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
    renameSync(`${path}.tmp`, path);
  }

  appendMetrics(record: StepMetrics & { step: number; epoch: number }): void {
    appendFileSync(this.metrics, `${JSON.stringify(record)}\n`);
  }

  /** Metrics records so far; on resume, those after the checkpoint's step are dropped (they are replayed). */
  readMetrics(upToStep = Infinity): Array<Record<string, number>> {
    if (!existsSync(this.metrics)) return [];
    return readFileSync(this.metrics, 'utf8').split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line)).filter((r) => r.step <= upToStep);
  }

  rewriteMetrics(records: Array<Record<string, number>>): void {
    writeFileSync(`${this.metrics}.tmp`, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    renameSync(`${this.metrics}.tmp`, this.metrics);
  }
}
