// x [N, C, H, W] -> quads [N, ceil(C / 4), H, W] of vec4s: channels 4q .. 4q + 3 of a pixel side by side
// (zero past C). conv_grad_weight_subgroup.wgsl's main_rows then loads a pixel's 4 input channels as one
// vec4, where the NCHW tensor takes 4 scalar loads from 4 planes.
//
// One thread per 4 consecutive pixels of one quad of one image, placed by the grid ([plane / 256, quads,
// N]) rather than by dividing a linear index (lavapipe divides lane by lane). Where planes are a
// multiple of 4 long, `main_vec4` reads each channel's 4 pixels as one aligned vec4 (4 vec4 loads
// instead of 16 scalar ones) and transposes them.

struct Params {
  channels: u32,
  plane: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> quads: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: Params;
// The same buffer as x, for main_vec4's aligned loads.
@group(0) @binding(3) var<storage, read> x4: array<vec4<f32>>;

// Where channel c's pixel0 lies in x.
fn channelStart(n: u32, c: u32, pixel0: u32) -> u32 {
  return (n * params.channels + c) * params.plane + pixel0;
}

// Stores pixel0 + k of quad q from channel[j] = channel 4q + j's 4 pixels (those inside the plane).
fn storeQuads(n: u32, q: u32, pixel0: u32, channel: array<vec4<f32>, 4>) {
  let out = (n * ((params.channels + 3u) / 4u) + q) * params.plane + pixel0;
  for (var k = 0u; k < 4u; k++) {
    if (pixel0 + k < params.plane) { quads[out + k] = vec4<f32>(channel[0][k], channel[1][k], channel[2][k], channel[3][k]); }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let pixel0 = 4u * id.x;
  if (pixel0 >= params.plane) { return; }
  var channel: array<vec4<f32>, 4>;
  for (var j = 0u; j < 4u; j++) {
    let c = 4u * id.y + j;
    if (c >= params.channels) { continue; }
    let start = channelStart(id.z, c, pixel0);
    for (var k = 0u; k < 4u; k++) {
      if (pixel0 + k < params.plane) { channel[j][k] = x[start + k]; }
    }
  }
  storeQuads(id.z, id.y, pixel0, channel);
}

@compute @workgroup_size(64)
fn main_vec4(@builtin(global_invocation_id) id: vec3<u32>) {
  let pixel0 = 4u * id.x;
  if (pixel0 >= params.plane) { return; }
  var channel: array<vec4<f32>, 4>;
  for (var j = 0u; j < 4u; j++) {
    let c = 4u * id.y + j;
    if (c < params.channels) { channel[j] = x4[channelStart(id.z, c, pixel0) / 4u]; }
  }
  storeQuads(id.z, id.y, pixel0, channel);
}
