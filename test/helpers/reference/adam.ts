// Float64 reference for one Adam step with torch.optim.Adam's exact arithmetic order (PyTorch 1.13
// single-tensor path): L2 weight decay added to the gradient, bias corrections, eps added to
// sqrt(v) / sqrt(1 - beta2^t) rather than to sqrt(v_hat * ...).

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** L2 penalty folded into the gradient (not AdamW's decoupled decay). */
  weightDecay?: number;
}

export interface AdamState {
  /** First moment, same length as the parameter. */
  expAvg: Float64Array;
  /** Second moment, same length as the parameter. */
  expAvgSq: Float64Array;
  /** Steps taken so far (0 before the first). */
  step: number;
}

export function adamInitialState(length: number): AdamState {
  return { expAvg: new Float64Array(length), expAvgSq: new Float64Array(length), step: 0 };
}

/** One step; pure: returns the new parameter and state, leaving the arguments unchanged. */
export function adamStep(
  param: Float64Array, grad: Float64Array, state: AdamState, options: AdamOptions,
): { param: Float64Array; state: AdamState } {
  const beta1 = options.beta1 ?? 0.9;
  const beta2 = options.beta2 ?? 0.999;
  const eps = options.eps ?? 1e-8;
  const weightDecay = options.weightDecay ?? 0;
  const step = state.step + 1;
  const stepSize = options.lr / (1 - beta1 ** step);
  const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
  const expAvg = new Float64Array(param.length);
  const expAvgSq = new Float64Array(param.length);
  const updated = new Float64Array(param.length);
  for (let i = 0; i < param.length; i++) {
    const g = grad[i] + weightDecay * param[i];
    expAvg[i] = state.expAvg[i] * beta1 + (1 - beta1) * g;
    expAvgSq[i] = state.expAvgSq[i] * beta2 + (1 - beta2) * g * g;
    const denominator = Math.sqrt(expAvgSq[i]) / biasCorrection2Sqrt + eps;
    updated[i] = param[i] - stepSize * (expAvg[i] / denominator);
  }
  return { param: updated, state: { expAvg, expAvgSq, step } };
}
