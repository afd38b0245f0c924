// Does SRGAN add fidelity over plain upscaling? PSNR and SSIM against the real 512x512 image of
// SRGAN(lr), bicubic(lr) and nearest(lr) on held-out pairs, all quantised to 8 bits as saved images are.

import type { Engine } from '../../engine/runtime.ts';
import { noGrad } from '../../engine/autograd.ts';
import type { SrGenerator } from '../../models/srgan.ts';
import type { ImageCache } from '../data/cache.ts';
import { quantize } from '../train/images.ts';
import { psnr, ssim } from './metrics.ts';
import { toUint8, upscaleBicubic, upscaleNearest } from './upscale.ts';

export type UpscaleMethod = 'srgan' | 'bicubic' | 'nearest';

export interface FidelityScore {
  psnr: number;
  ssim: number;
}

export interface SuperResolutionScores {
  pairs: number;
  /** mean over pairs, per method (srgan absent without SRGAN weights) */
  mean: Partial<Record<UpscaleMethod, FidelityScore>>;
  perImage: Array<{ index: number; id: string } & Partial<Record<UpscaleMethod, FidelityScore>>>;
}

async function srgan(engine: Engine, generator: SrGenerator, lr: Uint8Array, side: number): Promise<Uint8Array> {
  const output = engine.tidy(() => noGrad(engine, () => {
    const input = engine.fromArray(Float32Array.from(lr, (v) => v / 127.5 - 1), [1, 1, side, side], 'f32', 'sr.input');
    return generator.forward(input, false);
  }));
  const [pixels] = await engine.read([output]);
  output.dispose();
  return Uint8Array.from(pixels, quantize);
}

export async function evaluateSuperResolution(engine: Engine, generator: SrGenerator | null, cache: ImageCache, indices: readonly number[]): Promise<SuperResolutionScores> {
  const factor = cache.hrSize / cache.lrSize;
  const side = cache.lrSize;
  const perImage: SuperResolutionScores['perImage'] = [];
  for (const index of indices) {
    const lr = cache.lr(index);
    const hr = cache.hr(index);
    const score = (image: Uint8Array): FidelityScore => ({ psnr: psnr(image, hr), ssim: ssim(image, hr, cache.hrSize, cache.hrSize) });
    const entry: SuperResolutionScores['perImage'][number] = {
      index,
      id: cache.id(index),
      bicubic: score(toUint8(upscaleBicubic(lr, side, side, factor))),
      nearest: score(toUint8(upscaleNearest(lr, side, side, factor))),
    };
    if (generator) entry.srgan = score(await srgan(engine, generator, lr, side));
    perImage.push(entry);
  }
  const mean: SuperResolutionScores['mean'] = {};
  for (const method of ['srgan', 'bicubic', 'nearest'] as const) {
    const scores = perImage.map((entry) => entry[method]).filter((s): s is FidelityScore => s !== undefined);
    if (scores.length) {
      mean[method] = {
        psnr: scores.reduce((total, s) => total + s.psnr, 0) / scores.length,
        ssim: scores.reduce((total, s) => total + s.ssim, 0) / scores.length,
      };
    }
  }
  return { pairs: perImage.length, mean, perImage };
}
