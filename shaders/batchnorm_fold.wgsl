// An inference-mode BatchNorm folded into the conv before it (engine/ops/batchnorm-fold.ts): with
// s = gamma / sqrt(running_var + eps) per output channel c, the conv's weight times s[c] and the bias
// (b[c] - running_mean[c]) s[c] + beta[c] give BN(conv(x)) as one conv. One thread per weight element;
// the first `channels` threads also write the bias.

struct Params {
  count: u32,
  channels: u32,
  // Weight elements per step of the output channel: Cin kH kW for conv2d's [Cout, Cin, kH, kW], kH kW
  // for convTranspose2d's [Cin, Cout, kH, kW] (whose channel then wraps every Cout steps).
  inner: u32,
  hasBias: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read> running_mean: array<f32>;
@group(0) @binding(6) var<storage, read> running_var: array<f32>;
@group(0) @binding(7) var<storage, read_write> folded_weight: array<f32>;
@group(0) @binding(8) var<storage, read_write> folded_bias: array<f32>;

fn scale(channel: u32) -> f32 {
  return gamma[channel] / sqrt(running_var[channel] + params.eps);
}

@compute @workgroup_size(256)
fn fold(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = id.x + id.y * groups.x * 256u;
  if (i < params.channels) {
    let b = select(0.0, bias[i], params.hasBias != 0u);
    folded_bias[i] = (b - running_mean[i]) * scale(i) + beta[i];
  }
  if (i < params.count) { folded_weight[i] = weight[i] * scale((i / params.inner) % params.channels); }
}
