// Debian's Chromium, headless with WebGPU, driven by playwright-core (never a downloaded browser),
// in a fresh profile; pages get a counter of every GPUBuffer created and destroyed.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';
export const chromiumFlags = [
  '--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Counts explicit createBuffer / destroy calls: device.destroy() would hide a leak, this does not. */
function trackGpuBuffers(): void {
  if (typeof GPUDevice === 'undefined') return;
  const live = new Map<GPUBuffer, number>();
  const stats = { created: 0, live, liveBytes: () => [...live.values()].reduce((a, b) => a + b, 0) };
  (window as unknown as { gpuBuffers: typeof stats }).gpuBuffers = stats;
  const createBuffer = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (descriptor: GPUBufferDescriptor) {
    const buffer = createBuffer.call(this, descriptor);
    stats.created++;
    live.set(buffer, descriptor.size);
    return buffer;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function () {
    live.delete(this);
    return destroy.call(this);
  };
}

export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'xraygen-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    // The profile folder is passed as --user-data-dir by launchPersistentContext itself.
    args: chromiumFlags,
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    viewport: { width: 1200, height: 900 },
  });
  // tsx compiles with keepNames: functions sent to the page may call esbuild's `__name` helper.
  await context.addInitScript('globalThis.__name = (target) => target;');
  await context.addInitScript(trackGpuBuffers);
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
