// Adam with PyTorch 1.13 semantics over one ParameterGroup: the moments live in two flat GPU
// buffers the size of group.values, and each step is one fused dispatch. WGSL: shaders/adam.wgsl.

import { kernel } from '../kernel.ts';
import type { ParameterGroup } from '../parameters.ts';
import type { Tensor } from '../tensor.ts';
import { fillInPlace } from '../ops/elementwise.ts';
import { linearGrid } from '../ops/grid.ts';

const adamKernel = kernel('adam');

export interface AdamOptions {
  lr: number;
  betas?: readonly [number, number];
  eps?: number;
  /** L2 penalty added to the gradient (torch.optim.Adam's weight_decay, not AdamW's). */
  weightDecay?: number;
}

export class Adam {
  /** Mutable so that a schedule can change it between steps. */
  lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  stepCount = 0;
  /** First and second moments, flat over group.values (padding included), as checkpoints store them. */
  readonly expAvg: Tensor;
  readonly expAvgSq: Tensor;

  constructor(readonly group: ParameterGroup, options: AdamOptions) {
    this.lr = options.lr;
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    const engine = group.engine;
    const size = group.values.size;
    if (size % 4 !== 0) throw new Error(`Adam: ${group.label} has ${size} values, not a multiple of 4`);
    this.expAvg = engine.keep(engine.empty([size], 'f32', `${group.label}.exp_avg`));
    this.expAvgSq = engine.keep(engine.empty([size], 'f32', `${group.label}.exp_avg_sq`));
    fillInPlace(this.expAvg, 0);
    fillInPlace(this.expAvgSq, 0);
  }

  /** One update of every parameter from group.grads (the caller zeroes them between steps). */
  step(): void {
    this.stepCount++;
    const [beta1, beta2] = this.betas;
    const count4 = this.group.values.size / 4;
    this.group.engine.run(adamKernel, {
      buffers: { values: this.group.values, grads: this.group.grads, exp_avg: this.expAvg, exp_avg_sq: this.expAvgSq },
      params: {
        count4,
        beta1,
        one_minus_beta1: 1 - beta1,
        beta2,
        one_minus_beta2: 1 - beta2,
        step_size: this.lr / (1 - beta1 ** this.stepCount),
        bias_correction2_sqrt: Math.sqrt(1 - beta2 ** this.stepCount),
        eps: this.eps,
        weight_decay: this.weightDecay,
      },
      workgroups: linearGrid(count4),
      label: `adam ${this.group.label} [${this.group.values.size}]`,
      flops: this.group.values.size * 16,
      bytes: this.group.values.size * 4 * 7,
    });
  }

  /** The GPU moment buffers (read them with engine.read to write a checkpoint). */
  stateTensors(): { expAvg: Tensor; expAvgSq: Tensor } {
    return { expAvg: this.expAvg, expAvgSq: this.expAvgSq };
  }

  /** Restores a checkpoint written from the moments and stepCount. */
  loadState(expAvg: Float32Array, expAvgSq: Float32Array, step: number): void {
    const size = this.group.values.size;
    if (expAvg.length !== size || expAvgSq.length !== size) {
      throw new Error(`Adam: state has ${expAvg.length} / ${expAvgSq.length} values, ${this.group.label} has ${size}`);
    }
    if (!Number.isInteger(step) || step < 0) throw new Error(`Adam: bad step count ${step}`);
    this.group.engine.upload(this.expAvg, expAvg);
    this.group.engine.upload(this.expAvgSq, expAvgSq);
    this.stepCount = step;
  }

  dispose(): void {
    this.expAvg.dispose();
    this.expAvgSq.dispose();
  }
}
