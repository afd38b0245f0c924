// x [N, C, H, W] -> quads [N, ceil(C / 4), H, W] of vec4s: channels 4q .. 4q + 3 of a pixel side by side
// (zero past C). conv_grad_weight_subgroup.wgsl's main_rows then loads a pixel's 4 input channels as one
// vec4, where the NCHW tensor takes 4 scalar loads from 4 planes.

struct Params {
  // Output vec4s: N * ceil(C / 4) * H * W.
  count: u32,
  channels: u32,
  plane: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> quads: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = id.x + id.y * groups.x * 256u;
  if (i >= params.count) { return; }
  let pixel = i % params.plane;
  let quadCount = (params.channels + 3u) / 4u;
  let q = (i / params.plane) % quadCount;
  let n = i / (params.plane * quadCount);
  let start = (n * params.channels + 4u * q) * params.plane + pixel;
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (4u * q + j < params.channels) { v[j] = x[start + j * params.plane]; }
  }
  quads[i] = v;
}
