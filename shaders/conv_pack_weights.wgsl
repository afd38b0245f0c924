// Repacks a conv weight [A, B, kH, kW] into [Cin, kH, kW, ceil(Cout/4)*4] (zero-padded) for
// conv_gather.wgsl, where four output channels of one tap are one vec4 load. For conv2d (and the
// grad-input of convTranspose2d) A is the output channel; for convTranspose2d (and the grad-input
// of conv2d) A is the input channel.

struct Params {
  count: u32,
  first: u32,
  second: u32,
  taps: u32,
  paddedOutChannels: u32,
  outputIsFirst: u32,
}

@group(0) @binding(0) var<storage, read> weight: array<f32>;
@group(0) @binding(1) var<storage, read_write> packed: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = id.x + id.y * groups.x * 256u;
  if (i >= params.count) { return; }
  let co = i % params.paddedOutChannels;
  let row = i / params.paddedOutChannels;
  let tap = row % params.taps;
  let ci = row / params.taps;
  let outChannels = select(params.second, params.first, params.outputIsFirst != 0u);
  var value = 0.0;
  if (co < outChannels) {
    let index = select(ci * params.second + co, co * params.second + ci, params.outputIsFirst != 0u);
    value = weight[index * params.taps + tap];
  }
  packed[i] = value;
}
