// One fused Adam step over a model's whole flat parameter buffer (engine/optim/adam.ts), in
// torch.optim.Adam's order (1.13, non-amsgrad): L2 decay into the gradient, moment updates,
// denom = sqrt(v) / sqrt(bias_correction2) + eps, param -= lr / bias_correction1 * m / denom.
// The step-dependent factors come from the CPU, computed in float64. Four parameters per thread:
// the flat buffer is padded to 64 floats per tensor, so its length is a multiple of 4.

struct Params {
  count4: u32,
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  // lr / (1 - beta1^t)
  step_size: f32,
  // sqrt(1 - beta2^t)
  bias_correction2_sqrt: f32,
  eps: f32,
  weight_decay: f32,
}

@group(0) @binding(0) var<storage, read_write> values: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> grads: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> exp_avg: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> exp_avg_sq: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = id.x + id.y * groups.x * 256u;
  if (i >= params.count4) { return; }
  let value = values[i];
  let grad = grads[i] + params.weight_decay * value;
  let m = exp_avg[i] * params.beta1 + params.one_minus_beta1 * grad;
  let v = exp_avg_sq[i] * params.beta2 + params.one_minus_beta2 * grad * grad;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  let denominator = sqrt(v) / params.bias_correction2_sqrt + params.eps;
  values[i] = value - params.step_size * (m / denominator);
}
