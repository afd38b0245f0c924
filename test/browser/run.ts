// `npm run test:browser`: the web page and the embedding API in headless Chromium against the Node
// CLI on the same tiny weights (trained here), GPU memory after dispose(), the static server's
// refusals, the kernel suite in the browser against the float64 reference and Node, and the kernel
// profiler in the browser.
// Prints "N passed, M failed" and exits non-zero on failure. `--docs-screenshot` also refreshes
// docs/web-screenshot.png.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { Page } from 'playwright-core';
import { Engine } from '../../engine/runtime.ts';
import { bundleForBrowser, repositoryRoot } from '../../web/build.ts';
import { startWebServer, type WebServer } from '../../web/server.ts';
import { launchChromium, type Browser } from './chromium.ts';
import { runKernelSuite, type KernelCaseResult } from './kernel-suite.ts';
import type { BrowserProfile } from './profile-step.ts';
import { nodeGenerate, trainTinyWeights, type NodeImages } from './node-side.ts';

const { docsScreenshot } = new Command('npm run test:browser --')
  .option('--docs-screenshot', 'also refresh docs/web-screenshot.png')
  .parse()
  .opts<{ docsScreenshot?: boolean }>();

const results: Array<{ name: string; error: string | null }> = [];

async function check(name: string, body: () => Promise<void>): Promise<void> {
  const began = performance.now();
  try {
    await body();
    results.push({ name, error: null });
    console.log(`  ok   ${name} (${((performance.now() - began) / 1000).toFixed(1)} s)`);
  } catch (error) {
    results.push({ name, error: (error as Error).message });
    console.log(`  FAIL ${name}: ${(error as Error).message}`);
  }
}

function ensure(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** The exact bytes of `path` go on the wire: no client-side normalisation of `..`. */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((done, fail) => {
    const call = request({ host: hostname, port, path, method: 'GET' }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => done({ status: response.statusCode ?? 0, body }));
    });
    call.on('error', fail);
    call.end();
  });
}

async function checkServer(server: WebServer): Promise<void> {
  for (const path of ['/', '/style.css', '/dist/main.js', '/dist/xraygen.js', '/weights/cgan.safetensors']) {
    const { status } = await rawGet(server.url, path);
    ensure(status === 200, `${path} gave ${status}, want 200`);
  }
  const hostile = [
    '/../package.json', '/..%2fpackage.json', '/%2e%2e/package.json', '/%2E%2E%2Fpackage.json', '/dist/../../package.json',
    '/weights/../../package.json', '/weights/..%2F..%2Fpackage.json', '//etc/passwd', '/%2Fetc%2Fpasswd', '/weights/%2Fetc%2Fpasswd',
    '/..%5cpackage.json', '/weights/%00cgan.safetensors', 'http://127.0.0.1/../package.json', '/server.ts', '/build.ts',
    '/weights/.hidden.safetensors', '/%E0%A4%A',
  ];
  for (const path of hostile) {
    const { status, body } = await rawGet(server.url, path);
    ensure(status >= 400 && status < 500, `${path} gave ${status}, want a 4xx refusal`);
    ensure(!/"name": "xraygen"|root:|import /.test(body), `${path} leaked file contents`);
  }
}

async function setControls(page: Page, controls: { label: string; count: number; seed: number; threshold: number; sr: boolean }): Promise<void> {
  await page.selectOption('#label', controls.label);
  await page.fill('#count', String(controls.count));
  await page.fill('#seed', String(controls.seed));
  await page.$eval('#threshold', (input, value) => {
    (input as HTMLInputElement).value = String(value);
    input.dispatchEvent(new Event('input'));
  }, controls.threshold);
  await page.setChecked('#sr', controls.sr);
}

async function pageGenerate(page: Page, controls: Parameters<typeof setControls>[1]): Promise<{ pixels: Uint8Array[]; dScores: number[]; indices: number[]; attempts: number[]; seconds: number }> {
  await setControls(page, controls);
  await page.click('#generate');
  await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]', { timeout: 120_000 });
  const error = await page.$eval('#message', (m) => ((m as HTMLElement).hidden ? null : m.textContent));
  ensure(!error, `page error: ${error}`);
  const generation = await page.evaluate(() => {
    const last = (window as unknown as { xraygenPage: { lastGeneration: import('../../pipeline/generate/browser.ts').BrowserGeneration } }).xraygenPage.lastGeneration;
    const base64 = (bytes: Uint8ClampedArray) => {
      let text = '';
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(text);
    };
    return { seconds: last.seconds, images: last.images.map((image) => ({ index: image.index, attempt: image.attempt, dScore: image.dScore, pixels: base64(image.pixels) })) };
  });
  return {
    pixels: generation.images.map((image) => new Uint8Array(Buffer.from(image.pixels, 'base64'))),
    dScores: generation.images.map((image) => image.dScore),
    indices: generation.images.map((image) => image.index),
    attempts: generation.images.map((image) => image.attempt),
    seconds: generation.seconds,
  };
}

function compareImages(node: NodeImages, browser: Awaited<ReturnType<typeof pageGenerate>>, what: string): void {
  ensure(node.pixels.length > 0, `${what}: Node kept no images, nothing to compare`);
  ensure(node.indices.join() === browser.indices.join(), `${what}: Node kept images ${node.indices.join()}, the page ${browser.indices.join()}`);
  ensure(node.attempts.join() === browser.attempts.join(), `${what}: Node kept tries ${node.attempts.join()}, the page ${browser.attempts.join()}`);
  let worst = 0;
  node.pixels.forEach((expected, i) => {
    const actual = browser.pixels[i];
    ensure(actual.length === expected.length, `${what} image ${i}: ${actual.length} pixels, want ${expected.length}`);
    for (let p = 0; p < expected.length; p++) worst = Math.max(worst, Math.abs(actual[p] - expected[p]));
    ensure(Math.abs(node.dScores[i] - browser.dScores[i]) <= 1e-3, `${what} image ${i}: D ${browser.dScores[i]} in the page, ${node.dScores[i]} in Node`);
  });
  ensure(worst <= 1, `${what}: max abs difference ${worst}/255 > 1/255`);
  const redrawn = node.attempts.filter((attempt) => attempt > 0).length;
  console.log(`       ${what}: ${node.pixels.length} images (${redrawn} kept after redraws), max abs difference ${worst}/255 (Node ${node.seconds.toFixed(2)} s incl. startup, page ${browser.seconds.toFixed(2)} s)`);
}

function compareKernelRuns(browser: KernelCaseResult[], node: KernelCaseResult[]): void {
  ensure(browser.length === node.length, `${browser.length} browser cases, ${node.length} Node cases`);
  const failures = browser.filter((c) => c.error).map((c) => `browser ${c.name}: ${c.error}`);
  failures.push(...node.filter((c) => c.error).map((c) => `node ${c.name}: ${c.error}`));
  ensure(failures.length === 0, failures.join('; '));
  browser.forEach((run, i) => {
    run.outputs.forEach((values, k) => {
      const other = node[i].outputs[k];
      const scale = Math.max(1, ...other.map(Math.abs));
      const worst = values.reduce((w, v, j) => Math.max(w, Math.abs(v - other[j])), 0);
      ensure(values.length === other.length && worst <= 1e-4 * scale, `${run.name} output ${k}: browser and Node differ by ${worst}`);
    });
  });
  console.log(`       ${browser.map((c) => c.name).join(', ')}`);
}

async function main(): Promise<number> {
  const began = performance.now();
  const root = mkdtempSync(join(tmpdir(), 'xraygen-browser-'));
  const artifacts = join(repositoryRoot, 'test', 'artifacts');
  mkdirSync(artifacts, { recursive: true });
  const weightsDir = await trainTinyWeights(root);
  const mass = await nodeGenerate(root, weightsDir, { className: 'mass', count: 3, seed: 7, threshold: 0, sr: true });
  // A threshold between the first draws' D scores, so that some images are kept at once and the
  // rest are redrawn: the page must make the same choices.
  const firstDraws = await nodeGenerate(root, weightsDir, { className: 'pneumonia', count: 6, seed: 3, threshold: 0, sr: false, maxTries: 1 });
  const sorted = [...firstDraws.dScores].sort((a, b) => a - b);
  const threshold = Math.round(50 * (sorted[2] + sorted[3])) / 100;
  const pneumonia = await nodeGenerate(root, weightsDir, { className: 'pneumonia', count: 6, seed: 3, threshold, sr: false });
  const nodeEngine = await Engine.create({ seed: 1234 });
  const nodeKernels = await runKernelSuite(nodeEngine);
  nodeEngine.destroy();
  console.log(`Node side ready in ${((performance.now() - began) / 1000).toFixed(1)} s`);

  const server = await startWebServer({ port: 0, weightsDir });
  let browser: Browser | null = null;
  // Left by the kernel page for the profiler check after it: with timestamps, and with the CPU clock.
  let browserProfiles: BrowserProfile[] = [];
  try {
    await check('server serves the page, bundle and weights, and refuses traversal', () => checkServer(server));
    browser = await launchChromium();
    const page = await browser.context.newPage();
    const pageUrl = `${server.url}?weights=weights/cgan.safetensors&srWeights=weights/srgan.safetensors`;
    await check('page loads the generator on WebGPU', async () => {
      await page.goto(pageUrl);
      await page.waitForSelector('#status[data-state="ready"], #status[data-state="error"]', { timeout: 60_000 });
      ensure((await page.getAttribute('#status', 'data-state')) === 'ready', `page: ${await page.textContent('#message')}`);
      console.log(`       adapter ${await page.textContent('#adapter')}; first load ${await page.textContent('#load-time')}`);
    });
    await check('page images match Node generate (mass, seed 7, SR 512 px)', async () => {
      compareImages(mass, await pageGenerate(page, { label: 'mass', count: 3, seed: 7, threshold: 0, sr: true }), 'mass x3 SR');
    });
    await check(`page images match Node generate (pneumonia, seed 3, threshold ${threshold} with redraws, 128 px)`, async () => {
      compareImages(pneumonia, await pageGenerate(page, { label: 'pneumonia', count: 6, seed: 3, threshold, sr: false }), `pneumonia x6 t${threshold}`);
      // The SR run again, so the screenshot shows the 512 px images.
      await pageGenerate(page, { label: 'mass', count: 3, seed: 7, threshold: 0, sr: true });
      await page.screenshot({ path: join(artifacts, 'web-page.png'), fullPage: true });
      if (docsScreenshot) await page.screenshot({ path: join(repositoryRoot, 'docs', 'web-screenshot.png'), fullPage: true });
    });
    await check('tune() picks conv kernels per shape; the tuned page still matches Node', async () => {
      const table = await page.evaluate(async () => {
        const state = window as unknown as { xraygenPage: { generator: () => import('../../pipeline/generate/browser.ts').XrayGenerator } };
        return state.xraygenPage.generator().tune();
      });
      const entries = Object.entries(table);
      ensure(entries.length > 0 && entries.every(([key, variant]) => /^(gather|weightGrad) /.test(key) && /^[a-z]+\d+$/.test(variant)), `table: ${JSON.stringify(table)}`);
      compareImages(mass, await pageGenerate(page, { label: 'mass', count: 3, seed: 7, threshold: 0, sr: true }), 'mass x3 SR, tuned');
      console.log(`       ${entries.length} shapes tuned: ${[...new Set(entries.map(([, variant]) => variant))].join(', ')}`);
    });
    await check('dispose() returns GPU memory to zero', async () => {
      await page.click('#release');
      await page.waitForSelector('#status[data-state="released"]');
      const after = await page.evaluate(() => {
        const state = window as unknown as { xraygenPage: { lastDispose: { liveBytes: number; heldBytes: number } }; gpuBuffers: { created: number; liveBytes(): number; live: Map<unknown, number> } };
        return { pool: state.xraygenPage.lastDispose, created: state.gpuBuffers.created, liveBytes: state.gpuBuffers.liveBytes(), liveBuffers: state.gpuBuffers.live.size };
      });
      ensure(after.pool.liveBytes === 0 && after.pool.heldBytes === 0, `pool after dispose: ${JSON.stringify(after.pool)}`);
      ensure(after.created > 0 && after.liveBuffers === 0, `${after.liveBuffers} of ${after.created} GPU buffers (${after.liveBytes} bytes) never destroyed`);
      console.log(`       ${after.created} GPU buffers created, all destroyed; pool holds 0 bytes`);
    });
    await check('kernel suite (conv, convT, batchnorm, Adam, f16 packing, evictions, recomputation) in the browser agrees with the reference and Node', async () => {
      const bundle = await bundleForBrowser({ entryPoints: { kernels: join(repositoryRoot, 'test', 'browser', 'kernel-entry.ts') } });
      const kernelsUrl = `${server.url}__kernels/`;
      const kernelPage = await browser!.context.newPage();
      // Same origin as the page (a secure context), without adding test files to the server.
      await kernelPage.route(`${kernelsUrl}**`, (route) => {
        const name = new URL(route.request().url()).pathname.split('/').pop()!;
        if (name === '') return route.fulfill({ contentType: 'text/html', body: '<!doctype html><script type="module" src="kernels.js"></script>' });
        const file = bundle.get(name);
        return file ? route.fulfill({ contentType: 'text/javascript', body: Buffer.from(file) }) : route.fulfill({ status: 404, body: 'not found' });
      });
      await kernelPage.goto(kernelsUrl);
      await kernelPage.waitForFunction(() => 'kernelSuite' in window);
      const browserRun = await kernelPage.evaluate(() => (window as unknown as { kernelSuite: Promise<{ results: KernelCaseResult[]; profiles: BrowserProfile[] }> }).kernelSuite);
      compareKernelRuns(browserRun.results, nodeKernels);
      browserProfiles = browserRun.profiles;
      await kernelPage.close();
    });
    await check('the kernel profiler runs in the browser: per-kernel table and Chrome trace of a training step, timestamps and CPU clock', async () => {
      ensure(browserProfiles.length === 2, `the kernel page left ${browserProfiles.length} profiles`);
      ensure(browserProfiles[1].clock === 'cpu', `timestamps off: clock ${browserProfiles[1].clock}`);
      for (const profile of browserProfiles) {
        ensure(profile.clock === 'gpu-timestamps' || profile.clock === 'cpu', `clock ${profile.clock}`);
        ensure(profile.steps === 2 && profile.dispatchesPerStep > 0, `${profile.steps} steps of ${profile.dispatchesPerStep} dispatches`);
        const calls = profile.rows.reduce((total, row) => total + row.calls, 0);
        ensure(calls === profile.steps * profile.dispatchesPerStep, `table rows hold ${calls} calls for ${profile.steps} x ${profile.dispatchesPerStep} dispatches`);
        const gather = profile.rows.find((row) => row.name.startsWith('conv_gather'));
        ensure(gather !== undefined, `no conv_gather row in ${profile.rows.map((row) => row.name).join(', ')}`);
        ensure(profile.rows.some((row) => row.name.startsWith('batchnorm')), 'no batchnorm row');
        ensure(/kernel\s+calls\s+total ms\s+mean us\s+share\s+GFLOP\/s\s+GB\/s/.test(profile.table), `table:\n${profile.table}`);
        const trace = JSON.parse(profile.trace) as { traceEvents: Array<{ ph: string; cat?: string; name: string; dur?: number }> };
        const kernelSpans = trace.traceEvents.filter((event) => event.ph === 'X' && event.cat === 'kernel');
        // The warm-up step's dispatches are in the trace too.
        ensure(kernelSpans.length >= calls && kernelSpans.every((event) => (event.dur ?? -1) >= 0), `${kernelSpans.length} kernel spans`);
        // Timestamps: one readback per step, the warm-up included; the CPU clock reads nothing back.
        const readbacks = profile.clock === 'gpu-timestamps' ? profile.steps + 1 : 0;
        ensure(profile.readbacks === readbacks, `${profile.readbacks} profiler readbacks with the ${profile.clock} clock`);
        if (profile.clock === 'gpu-timestamps') ensure(gather.gflops !== null && gather.gflops > 0, `conv_gather GFLOP/s ${gather.gflops}`);
        console.log(`       clock ${profile.clock}: ${profile.dispatchesPerStep} dispatches per step, ${kernelSpans.length} kernel spans, ${profile.readbacks} readbacks`);
      }
    });
    await check('a browser without WebGPU gets a clear message', async () => {
      const noGpuPage = await browser!.context.newPage();
      await noGpuPage.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
      await noGpuPage.goto(pageUrl);
      await noGpuPage.waitForSelector('#message:not([hidden])');
      const message = await noGpuPage.textContent('#message');
      ensure(/no WebGPU/.test(message ?? ''), `message: ${message}`);
      ensure(await noGpuPage.isDisabled('#generate'), 'Generate stays disabled');
      await noGpuPage.close();
    });
  } finally {
    await browser?.close();
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
  const failed = results.filter((r) => r.error).length;
  console.log(`\n  Total: ${results.length}\n  Passed: ${results.length - failed}\n  Duration: ${((performance.now() - began) / 1000).toFixed(1)} s`);
  console.log(`${results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main().catch((error) => {
  console.error(error);
  console.log('0 passed, 1 failed');
  return 1;
});
