// Training progress: a bar with step, epoch, losses, images/s and ETA on a terminal; a plain log
// line every few seconds (and at the end) when stdout is not a TTY.

import cliProgress from 'cli-progress';
import type { StepMetrics } from './trainer.ts';

export interface TrainingProgress {
  update(step: number, epoch: number, metrics: StepMetrics, imagesPerSecond: number): void;
  stop(): void;
}

const describe = (metrics: StepMetrics) => Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' ');

export function startTrainingProgress(total: number, start: number, options: { plain?: boolean; log: (line: string) => void }): TrainingProgress {
  const began = Date.now();
  const eta = (step: number) => {
    const rate = (step - start) / ((Date.now() - began) / 1000);
    const seconds = rate > 0 ? (total - step) / rate : NaN;
    return Number.isFinite(seconds) ? `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s` : '?';
  };
  if (!options.plain && process.stdout.isTTY) {
    const bar = new cliProgress.SingleBar({ format: 'step {value}/{total} epoch {epoch} | {metrics} | {speed} img/s | ETA {eta}', hideCursor: true }, cliProgress.Presets.shades_classic);
    bar.start(total, start, { epoch: 0, metrics: '', speed: '-', eta: '?' });
    return {
      update: (step, epoch, metrics, speed) => bar.update(step, { epoch, metrics: describe(metrics), speed: speed.toFixed(1), eta: eta(step) }),
      stop: () => bar.stop(),
    };
  }
  let lastLine = 0;
  return {
    update: (step, epoch, metrics, speed) => {
      if (Date.now() - lastLine < 5000 && step < total && step !== start + 1) return;
      lastLine = Date.now();
      options.log(`step ${step}/${total} epoch ${epoch} ${describe(metrics)} ${speed.toFixed(1)} img/s ETA ${eta(step)}`);
    },
    stop: () => undefined,
  };
}
