// Global average pooling over each plane of an NCHW tensor, and its gradient. Planes at this point
// of a network are small (SRGAN's discriminator ends at H/16 x W/16), so one thread per plane
// summing sequentially beats a tree reduction with barriers on lavapipe, and is deterministic.

struct Params {
  count: u32,
  plane: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn element(id: vec3<u32>, groups: vec3<u32>) -> u32 {
  return id.x + id.y * groups.x * 256u;
}

// x: [N, C, plane] -> out: [N, C]; count = N * C.
@compute @workgroup_size(256)
fn avg_pool(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let slot = element(id, groups);
  if (slot >= params.count) { return; }
  var total = 0.0;
  let start = slot * params.plane;
  for (var p = 0u; p < params.plane; p++) { total += x[start + p]; }
  out[slot] = total / f32(params.plane);
}

// x: gradient [N, C] -> out: [N, C, plane], each value spread evenly; count = N * C * plane.
@compute @workgroup_size(256)
fn avg_pool_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i >= params.count) { return; }
  out[i] = x[i / params.plane] / f32(params.plane);
}
