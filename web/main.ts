// The demo page: loads the generator once (weights from ?weights= and ?srWeights=, by default the
// server's weights/ folder), generates on request and shows each image with its D score, the first
// load and per-generation times, and the GPU memory the engine holds.

import { createGenerator, formatBytes, toImageData, toPngBlob, type BrowserGeneration, type XrayGenerator } from './xraygen.ts';

const element = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const form = element<HTMLFormElement>('controls');
const generateButton = element<HTMLButtonElement>('generate');
const releaseButton = element<HTMLButtonElement>('release');
const threshold = element<HTMLInputElement>('threshold');
const status = element('status');
const results = element('results');

const query = new URLSearchParams(location.search);
const weightsUrl = query.get('weights') ?? 'weights/cgan.safetensors';
const srWeightsUrl = query.get('srWeights') ?? 'weights/srgan.safetensors';
const generationSeconds: number[] = [];
let generator: XrayGenerator | null = null;

/** What tests and curious embedders can reach from the console. */
const pageState = {
  generator: () => generator,
  lastGeneration: null as BrowserGeneration | null,
  lastDispose: null as ReturnType<XrayGenerator['dispose']> | null,
};
(window as unknown as { xraygenPage: typeof pageState }).xraygenPage = pageState;

function setStatus(state: 'loading' | 'ready' | 'busy' | 'done' | 'released' | 'error', text: string): void {
  status.dataset.state = state;
  status.textContent = text;
}

function showMessage(text: string): void {
  const message = element('message');
  message.textContent = text;
  message.hidden = false;
}

function showMemory(): void {
  if (!generator) {
    element('memory').textContent = pageState.lastDispose ? `${formatBytes(pageState.lastDispose.heldBytes)} (released)` : '–';
    return;
  }
  const memory = generator.memory();
  element('memory').textContent = `${formatBytes(memory.heldBytes)} (${formatBytes(memory.liveBytes)} in tensors, ${formatBytes(memory.pooledBytes)} pooled for reuse; peak ${formatBytes(memory.peakHeldBytes)})`;
}

async function load(): Promise<void> {
  setStatus('loading', 'loading weights…');
  generator = await createGenerator({ weightsUrl, srWeightsUrl: srWeightsUrl || null });
  element('adapter').textContent = generator.adapter;
  element('load-time').textContent = `${generator.loadSeconds.toFixed(2)} s (fetch, parse, upload ${weightsUrl}${srWeightsUrl ? ` + ${srWeightsUrl}` : ''})`;
  element<HTMLInputElement>('sr').disabled = !generator.srConfig;
  if (!generator.srConfig) element<HTMLInputElement>('sr').checked = false;
  generateButton.disabled = false;
  releaseButton.disabled = false;
  showMemory();
  setStatus('ready', 'ready');
}

function figureFor(image: BrowserGeneration['images'][number]): HTMLElement {
  const figure = document.createElement('figure');
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = image.size;
  canvas.getContext('2d')!.putImageData(toImageData(image), 0, 0);
  canvas.title = 'click to download the PNG';
  canvas.addEventListener('click', async () => {
    const link = document.createElement('a');
    link.href = URL.createObjectURL(await toPngBlob(image));
    link.download = `xraygen-${image.className}-${image.index}.png`;
    link.click();
    URL.revokeObjectURL(link.href);
  });
  const caption = document.createElement('figcaption');
  caption.textContent = `#${image.index} ${image.findingName} · D = ${image.dScore.toFixed(3)} · try ${image.attempt + 1} · ${image.size} px`;
  figure.append(canvas, caption);
  return figure;
}

async function generate(): Promise<void> {
  if (!generator) await load();
  generateButton.disabled = true;
  setStatus('busy', 'generating…');
  const generation = await generator!.generate({
    label: element<HTMLSelectElement>('label').value,
    count: Number(element<HTMLInputElement>('count').value),
    seed: Number(element<HTMLInputElement>('seed').value),
    threshold: Number(threshold.value),
    sr: element<HTMLInputElement>('sr').checked,
  });
  pageState.lastGeneration = generation;
  generationSeconds.push(generation.seconds);
  element('generation-times').textContent = generationSeconds.map((s, i) => `#${i + 1}: ${s.toFixed(2)} s`).join(', ');
  results.replaceChildren(...generation.images.map(figureFor));
  for (const index of generation.rejected) {
    const figure = document.createElement('figure');
    figure.className = 'rejected';
    figure.textContent = `#${index}: no draw reached the threshold`;
    results.append(figure);
  }
  const stats = generation.stats[0];
  showMemory();
  setStatus('done', `kept ${stats.kept} of ${stats.requested} (acceptance ${((100 * stats.kept) / Math.max(1, stats.drawn)).toFixed(0)}% of ${stats.drawn} drawn) in ${generation.seconds.toFixed(2)} s`);
  generateButton.disabled = false;
}

function release(): void {
  if (!generator) return;
  pageState.lastDispose = generator.dispose();
  generator = null;
  releaseButton.disabled = true;
  showMemory();
  setStatus('released', 'GPU released; Generate loads the models again');
}

async function guarded(action: () => Promise<void> | void): Promise<void> {
  try {
    await action();
  } catch (error) {
    setStatus('error', 'error');
    showMessage((error as Error).message);
    generateButton.disabled = false;
  }
}

threshold.addEventListener('input', () => (element('threshold-value').textContent = Number(threshold.value).toFixed(2)));
form.addEventListener('submit', (event) => {
  event.preventDefault();
  void guarded(generate);
});
releaseButton.addEventListener('click', () => void guarded(release));

if (!('gpu' in navigator) || !navigator.gpu) {
  setStatus('error', 'no WebGPU');
  showMessage('This browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome, Edge or Safari over https or localhost, or start Chromium with --enable-unsafe-webgpu.');
} else {
  void guarded(load);
}
