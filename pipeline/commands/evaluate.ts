// `xraygen evaluate`: numbers for a CGAN (and SRGAN): conditional accuracy, Fréchet distance and
// diversity in a classifier's feature space, D's score distribution, SR fidelity (pipeline/evaluate/job.ts).

import type { Command } from 'commander';
import { runEvaluate } from '../evaluate/job.ts';
import { parseIntegerOption } from './options.ts';

interface EvaluateFlags {
  weights: string;
  data: string;
  classifier?: string;
  srWeights?: string;
  sr: boolean;
  count: number;
  srCount: number;
  seed: number;
  batch: number;
  out: string;
}

const percent = (value: number) => (Number.isNaN(value) ? '-' : `${(100 * value).toFixed(1)}%`);

export function register(program: Command): void {
  program
    .command('evaluate')
    .description('score generated images: conditional accuracy, Fréchet distance, diversity, D scores, and SRGAN against bicubic/nearest')
    .requiredOption('--weights <run|file>', 'CGAN weights: a training run folder or a .safetensors file')
    .requiredOption('--data <cache>', 'a prepared cache; its val + test images are the real held-out set')
    .option('--classifier <run|file>', 'evaluation classifier (xraygen train classifier); default: train one into OUT/classifier')
    .option('--sr-weights <file>', 'SRGAN weights (default: shipped models/weights/srgan.safetensors when present)')
    .option('--no-sr', 'skip SRGAN (the bicubic and nearest baselines are still measured)')
    .option('--count <n>', 'generated images per class', parseIntegerOption('--count', 2), 100)
    .option('--sr-count <n>', 'held-out pairs for the super-resolution comparison (paper SRGAN: ~30 s each on lavapipe)', parseIntegerOption('--sr-count', 0), 4)
    .option('--seed <s>', 'seed of the latent codes (and of a classifier trained here)', parseIntegerOption('--seed', 0), 0)
    .option('--batch <b>', 'images per GPU batch', parseIntegerOption('--batch', 1), 16)
    .requiredOption('--out <dir>', 'output folder (evaluation.json, report.html, grid-*.png)')
    .action(async (flags: EvaluateFlags) => {
      const evaluation = await runEvaluate({
        weights: flags.weights, data: flags.data, classifier: flags.classifier, srWeights: flags.sr ? flags.srWeights : null,
        count: flags.count, srCount: flags.srCount, seed: flags.seed, batch: flags.batch, out: flags.out, log: (line) => console.log(line),
      });
      const { accuracy, frechet, discriminator, superResolution } = evaluation;
      console.log(`conditional accuracy ${percent(accuracy.generated.overall)} (real held-out ${percent(accuracy.realHeldOut.overall)}); Fréchet ${frechet.overall.generated.toFixed(3)} (floor ${frechet.overall.floor.toFixed(3)}); acceptance @0.5 ${percent(discriminator.generated.overall.acceptance05)}, @0.9 ${percent(discriminator.generated.overall.acceptance09)}`);
      const rows = evaluation.classes.map((name, k) => `${name} ${accuracy.generated.confusion[k].join('/')}`);
      console.log(`generated images classified as ${evaluation.classes.join(' / ')}: ${rows.join(', ')}`);
      for (const [method, score] of Object.entries(superResolution.mean)) console.log(`${method}: PSNR ${score.psnr.toFixed(2)} dB, SSIM ${score.ssim.toFixed(4)} over ${superResolution.pairs} pair(s)`);
      console.log(`wrote ${flags.out}/evaluation.json and ${flags.out}/report.html`);
    });
}
