// Repacks a conv weight [A, B, kH, kW] into [Cin, kH, kW, ceil(Cout/4)*4] (zero-padded) for
// conv_gather.wgsl, where four output channels of one tap are one vec4 load. For conv2d (and the
// grad-input of convTranspose2d) A is the output channel; for convTranspose2d (and the grad-input
// of conv2d) A is the input channel.
//
// One thread per (input channel, tap, quad of output channels), placed by the grid ([quads / 64,
// taps, Cin]) rather than by dividing a linear index: lavapipe divides lane by lane, and the three
// divisions per element were most of this pass (bench/RESULTS.md).

struct Params {
  first: u32,
  second: u32,
  taps: u32,
  outputQuads: u32,
  outputIsFirst: u32,
}

@group(0) @binding(0) var<storage, read> weight: array<f32>;
@group(0) @binding(1) var<storage, read_write> packed: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  if (quad >= params.outputQuads) { return; }
  let tap = id.y;
  let ci = id.z;
  let outputIsFirst = params.outputIsFirst != 0u;
  let outChannels = select(params.second, params.first, outputIsFirst);
  // Where output channel co of (ci, tap) lies in the weight: consecutive co are `step` apart.
  let step = select(params.taps, params.second * params.taps, outputIsFirst);
  let origin = select(ci * params.second * params.taps, ci * params.taps, outputIsFirst) + tap;
  var value = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    let co = 4u * quad + j;
    if (co < outChannels) { value[j] = weight[origin + co * step]; }
  }
  packed[(ci * params.taps + tap) * params.outputQuads + quad] = value;
}
