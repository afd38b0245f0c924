// Progress for long commands: a cli-progress bar with ETA on a terminal, plain log lines otherwise
// (CI logs and pipes should not fill with carriage returns).

import cliProgress from 'cli-progress';

export interface Progress {
  /** advance by `amount` items */
  increment(amount?: number): void;
  stop(): void;
}

export interface ProgressOptions {
  /** what is counted, e.g. "images" */
  unit: string;
  total: number;
  /** already done before this run (a resumed job) */
  start?: number;
  /** force plain lines (tests); default: bar only when stdout is a TTY */
  plain?: boolean;
  /** where plain lines go (default console.log) */
  log?: (line: string) => void;
  /** silence everything */
  quiet?: boolean;
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s` : `${seconds.toFixed(1)}s`;
}

export function startProgress(label: string, options: ProgressOptions): Progress {
  const start = options.start ?? 0;
  if (options.quiet) return { increment: () => undefined, stop: () => undefined };
  if (!options.plain && process.stdout.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} ${options.unit} | {speed}/s | ETA {eta_formatted}`, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    const began = Date.now();
    let done = start;
    bar.start(options.total, start, { speed: '0.0' });
    return {
      increment: (amount = 1) => {
        done += amount;
        bar.update(done, { speed: ((done - start) / Math.max(0.001, (Date.now() - began) / 1000)).toFixed(1) });
      },
      stop: () => bar.stop(),
    };
  }
  const log = options.log ?? ((line: string) => console.log(line));
  const began = Date.now();
  let done = start;
  let lastLogged = 0;
  return {
    increment: (amount = 1) => {
      done += amount;
      const now = Date.now();
      // a line every 5 seconds or at the end keeps logs short but alive
      if (now - lastLogged < 5000 && done < options.total) return;
      lastLogged = now;
      const rate = (done - start) / Math.max(0.001, (now - began) / 1000);
      const eta = rate > 0 ? (options.total - done) / rate : Number.POSITIVE_INFINITY;
      log(`${label}: ${done}/${options.total} ${options.unit} (${((100 * done) / Math.max(1, options.total)).toFixed(0)}%), ${rate.toFixed(1)}/s, ETA ${formatSeconds(eta)}`);
    },
    stop: () => undefined,
  };
}

export { formatSeconds };
