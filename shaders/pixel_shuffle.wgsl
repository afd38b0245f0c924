// Pixel shuffle (depth to space) and its inverse, both as gathers (one thread per output element):
// shuffled[n, c, h r + i, w r + j] = deep[n, c r^2 + i r + j, h, w]. The gradient of each is the other.

struct Params {
  count: u32,
  // Channels of the shuffled tensor, and height and width of the deep one.
  channels: u32,
  height: u32,
  width: u32,
  factor: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn element(id: vec3<u32>, groups: vec3<u32>) -> u32 {
  return id.x + id.y * groups.x * 256u;
}

// Index into the deep tensor [N, C r^2, H, W] of shuffled element (batch, channel, row, column).
fn deepIndex(batch: u32, channel: u32, row: u32, column: u32) -> u32 {
  let r = params.factor;
  let deepChannel = (channel * r + row % r) * r + column % r;
  return ((batch * params.channels * r * r + deepChannel) * params.height + row / r) * params.width + column / r;
}

// x: deep [N, C r^2, H, W] -> out: shuffled [N, C, H r, W r].
@compute @workgroup_size(256)
fn pixel_shuffle(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i >= params.count) { return; }
  let outWidth = params.width * params.factor;
  let outHeight = params.height * params.factor;
  let column = i % outWidth;
  let row = (i / outWidth) % outHeight;
  let planeIndex = i / (outWidth * outHeight);
  out[i] = x[deepIndex(planeIndex / params.channels, planeIndex % params.channels, row, column)];
}

// x: shuffled [N, C, H r, W r] -> out: deep [N, C r^2, H, W].
@compute @workgroup_size(256)
fn pixel_unshuffle(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i >= params.count) { return; }
  let r = params.factor;
  let w = i % params.width;
  let h = (i / params.width) % params.height;
  let deepPlane = i / (params.width * params.height);
  let deepChannels = params.channels * r * r;
  let batch = deepPlane / deepChannels;
  let deepChannel = deepPlane % deepChannels;
  let channel = deepChannel / (r * r);
  let row = h * r + (deepChannel / r) % r;
  let column = w * r + deepChannel % r;
  out[i] = x[((batch * params.channels + channel) * params.height * r + row) * params.width * r + column];
}
