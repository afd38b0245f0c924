// OUT/report.html for `xraygen evaluate`: the numbers in tables, bar charts and histograms (Chart.js,
// inlined so the page works offline) and the per-class grids of generated next to real images.

import { renameSync, writeFileSync } from 'node:fs';
import { chartJs } from '../train/report.ts';
import { HISTOGRAM_BINS } from './scores.ts';
import type { Evaluation } from './job.ts';

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function format(value: number | undefined, digits = 3): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (value === Infinity) return '∞';
  return value.toFixed(digits);
}

const percent = (value: number) => (Number.isNaN(value) ? '–' : `${(100 * value).toFixed(1)}%`);

function row(cells: string[], header = false): string {
  const tag = header ? 'th' : 'td';
  return `<tr>${cells.map((cell) => `<${tag}>${cell}</${tag}>`).join('')}</tr>`;
}

function classTable(evaluation: Evaluation): string {
  const { accuracy, frechet, discriminator } = evaluation;
  const header = row(['class', 'classifier acc. (generated)', 'acc. (real held-out)', 'Fréchet (gen vs real)', 'Fréchet floor (real vs real)', 'diversity (gen)', 'diversity (real)', 'mean D (gen)', 'accept @0.5', 'accept @0.9', 'mean D (real)'], true);
  const rows = evaluation.classes.map((name, k) => row([
    name, percent(accuracy.generated.perClass[k]), percent(accuracy.realHeldOut.perClass[k]),
    format(frechet.perClass[k].generated), format(frechet.perClass[k].floor),
    format(frechet.diversity.generated[k]), format(frechet.diversity.real[k]),
    format(discriminator.generated.perClass[k].mean), percent(discriminator.generated.perClass[k].acceptance05), percent(discriminator.generated.perClass[k].acceptance09),
    format(discriminator.realHeldOut.perClass[k].mean),
  ]));
  const overall = row([
    '<b>all</b>', percent(accuracy.generated.overall), percent(accuracy.realHeldOut.overall), format(frechet.overall.generated), format(frechet.overall.floor), '', '',
    format(discriminator.generated.overall.mean), percent(discriminator.generated.overall.acceptance05), percent(discriminator.generated.overall.acceptance09), format(discriminator.realHeldOut.overall.mean),
  ]);
  return `<table>${header}${rows.join('')}${overall}</table>`;
}

function superResolutionTable(evaluation: Evaluation): string {
  const { mean, pairs } = evaluation.superResolution;
  if (pairs === 0) return '<p>not measured (--sr-count 0)</p>';
  const methods = (['srgan', 'bicubic', 'nearest'] as const).filter((m) => mean[m]);
  return `<p>${pairs} held-out pair(s), 8-bit outputs against the real 512x512 image.</p><table>${row(['method', 'PSNR (dB)', 'SSIM'], true)}${methods.map((m) => row([m, format(mean[m]!.psnr, 2), format(mean[m]!.ssim, 4)])).join('')}</table>`;
}

/** Chart.js configs; data only, so the page's script is one loop. */
function charts(evaluation: Evaluation): Record<string, unknown> {
  const { classes, accuracy, frechet, discriminator, superResolution } = evaluation;
  const bars = (datasets: Array<{ label: string; data: Array<number | null> }>, labels: readonly string[]) => ({ type: 'bar', data: { labels, datasets }, options: { animation: false } });
  const nullable = (values: number[]) => values.map((v) => (Number.isFinite(v) ? v : null));
  const bins = Array.from({ length: HISTOGRAM_BINS }, (_, i) => (i / HISTOGRAM_BINS).toFixed(2));
  const share = (histogram: number[]) => {
    const total = histogram.reduce((a, b) => a + b, 0) || 1;
    return histogram.map((count) => count / total);
  };
  const methods = (['srgan', 'bicubic', 'nearest'] as const).filter((m) => superResolution.mean[m]);
  return {
    accuracy: bars([{ label: 'generated', data: nullable(accuracy.generated.perClass) }, { label: 'real held-out (ceiling)', data: nullable(accuracy.realHeldOut.perClass) }], classes),
    frechet: bars([{ label: 'generated vs real', data: nullable([...frechet.perClass.map((f) => f.generated), frechet.overall.generated]) }, { label: 'real vs real (floor)', data: nullable([...frechet.perClass.map((f) => f.floor), frechet.overall.floor]) }], [...classes, 'all']),
    diversity: bars([{ label: 'generated', data: nullable(frechet.diversity.generated) }, { label: 'real held-out', data: nullable(frechet.diversity.real) }], classes),
    scores: bars([{ label: 'generated', data: share(discriminator.generated.histogram) }, { label: 'real held-out', data: share(discriminator.realHeldOut.histogram) }], bins),
    psnr: bars([{ label: 'PSNR (dB)', data: nullable(methods.map((m) => superResolution.mean[m]!.psnr)) }], methods),
    ssim: bars([{ label: 'SSIM', data: nullable(methods.map((m) => superResolution.mean[m]!.ssim)) }], methods),
  };
}

export function writeEvaluationReport(path: string, evaluation: Evaluation): void {
  const grids = evaluation.grids.map((file, k) => `<figure><img src="${file}"><figcaption>${evaluation.classes[k]}: generated (top) and real held-out (bottom)</figcaption></figure>`).join('');
  const html = `<!doctype html><meta charset="utf-8"><title>xraygen evaluation</title>
<style>body{font:14px system-ui;margin:24px;max-width:1100px}canvas{max-height:300px}img{image-rendering:pixelated;max-width:100%}figure{margin:12px 0}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px}</style>
<h1>xraygen evaluation</h1>
<p>CGAN weights <code>${escape(evaluation.weights.path)}</code> (sha256 ${evaluation.weights.sha256.slice(0, 12)}…), classifier <code>${escape(evaluation.classifier.path)}</code>${evaluation.srWeights ? `, SRGAN <code>${escape(evaluation.srWeights.path)}</code>` : ''}; seed ${evaluation.seed}; ${evaluation.data.generatedPerClass} generated image(s) per class, ${evaluation.data.heldOut} real held-out.</p>
<h2>Per class</h2>${classTable(evaluation)}
<p>Fréchet distances are measured in the classifier's ${evaluation.frechet.featureSize}-d penultimate feature space; the floor is the distance between two halves of the real held-out images. With few images per class both are biased upwards; compare them with each other, not with published FIDs.</p>
<div class="charts"><div><h3>Classifier accuracy</h3><canvas id="accuracy"></canvas></div><div><h3>Fréchet distance</h3><canvas id="frechet"></canvas></div>
<div><h3>Diversity (mean pairwise feature distance)</h3><canvas id="diversity"></canvas></div><div><h3>Discriminator scores sigmoid(D)</h3><canvas id="scores"></canvas></div></div>
<h2>Super-resolution</h2>${superResolutionTable(evaluation)}
<div class="charts"><div><canvas id="psnr"></canvas></div><div><canvas id="ssim"></canvas></div></div>
<h2>Samples</h2>${grids}
<script>${chartJs()}</script>
<script>
for (const [id, config] of Object.entries(${JSON.stringify(charts(evaluation))})) new Chart(document.getElementById(id), config);
</script>`;
  writeFileSync(`${path}.tmp`, html);
  renameSync(`${path}.tmp`, path);
}
