// RUN/report.html: loss, score, throughput and GPU memory curves (Chart.js, inlined so the page works
// offline) and the latest sample grid, rebuilt at each checkpoint.

import { readFileSync, readdirSync, writeFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import type { RunDirectory } from './run-dir.ts';

let chartSource: string | null = null;

export function chartJs(): string {
  // The UMD build is not in the package's exports map; it sits beside the CommonJS entry.
  chartSource ??= readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js'), 'utf8');
  return chartSource;
}

export function writeReport(run: RunDirectory, title: string, config: unknown): void {
  const records = run.readMetrics();
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))];
  const series = (filter: (key: string) => boolean, unit = 1) => keys.filter(filter).map((key) => ({ label: key, data: records.filter((r) => key in r).map((r) => ({ x: r.step, y: r[key] / unit })), pointRadius: 0, borderWidth: 1.5 }));
  const losses = series((k) => k.startsWith('loss'));
  const scores = series((k) => k.startsWith('d_'));
  const speed = series((k) => k === 'images_per_second');
  // live_bytes, peak_bytes, evicted_bytes (since the last record), in MiB.
  const memory = series((k) => k.endsWith('_bytes'), 2 ** 20);
  const samples = readdirSync(run.samples).filter((n) => n.endsWith('.png')).sort();
  const latest = samples.slice(-3).reverse().map((n) => `<figure><img src="${relative(run.root, join(run.samples, n))}"><figcaption>${basename(n, '.png')}</figcaption></figure>`).join('');
  const html = `<!doctype html><meta charset="utf-8"><title>${title}</title>
<style>body{font:14px system-ui;margin:24px;max-width:1100px}canvas{max-height:320px}img{image-rendering:pixelated;max-width:100%}figure{display:inline-block;margin:8px}pre{background:#f4f4f4;padding:8px;overflow:auto}</style>
<h1>${title}</h1><p>${records.length} steps logged; last step ${records.at(-1)?.step ?? '-'}.</p>
<h2>Losses</h2><canvas id="losses"></canvas><h2>Discriminator scores</h2><canvas id="scores"></canvas><h2>Throughput (images/s)</h2><canvas id="speed"></canvas><h2>GPU memory (MiB)</h2><canvas id="memory"></canvas>
<h2>Latest samples</h2>${latest || '<p>none yet</p>'}
<h2>Config</h2><pre>${JSON.stringify(config, null, 2).replace(/</g, '&lt;')}</pre>
<script>${chartJs()}</script>
<script>
const chart = (id, datasets) => new Chart(document.getElementById(id), { type: 'line', data: { datasets }, options: { animation: false, parsing: false, scales: { x: { type: 'linear', title: { display: true, text: 'step' } } } } });
chart('losses', ${JSON.stringify(losses)}); chart('scores', ${JSON.stringify(scores)}); chart('speed', ${JSON.stringify(speed)}); chart('memory', ${JSON.stringify(memory)});
</script>`;
  writeFileSync(`${run.report}.tmp`, html);
  renameSync(`${run.report}.tmp`, run.report);
}
