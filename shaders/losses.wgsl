// Mean-reduced training losses (engine/ops/losses.ts). Forward: each of `groups` workgroups sums the
// per-element loss over a grid-strided share of the elements into partial[group]; reduce.wgsl then
// adds the partials, so big tensors use every core instead of one workgroup. Backward reads the
// scalar upstream gradient from dy[0] on the GPU (no readback) and folds in 1 / count.

struct Params {
  count: u32,
  // Workgroups in the forward grid (the stride is groups * 256).
  groups: u32,
  // Backward: gradient = sign * d loss_i / d input_i * dy[0] / count.
  sign: f32,
}

@group(0) @binding(0) var<storage, read> input: array<f32>;
// The target values (`target` is a reserved word in WGSL).
@group(0) @binding(1) var<storage, read> truth: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;

var<workgroup> lanes: array<f32, 256>;

fn store_workgroup_sum(group_index: u32, lane: u32, value: f32) {
  lanes[lane] = value;
  workgroupBarrier();
  for (var stride = 128u; stride > 0u; stride >>= 1u) {
    if (lane < stride) { lanes[lane] += lanes[lane + stride]; }
    workgroupBarrier();
  }
  if (lane == 0u) { partial[group_index] = lanes[0]; }
}

// log(1 + y) for y in [0, 1] without losing small y to the rounding of 1 + y (WGSL has no log1p).
fn log1p_small(y: f32) -> f32 {
  let u = 1.0 + y;
  if (u == 1.0) { return y; }
  return log(u) * y / (u - 1.0);
}

fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

// max(x, 0) - x t + log(1 + exp(-|x|)): never exponentiates a large positive number.
@compute @workgroup_size(256)
fn bce_with_logits(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  var total = 0.0;
  for (var i = group.x * 256u + lane; i < params.count; i += params.groups * 256u) {
    let x = input[i];
    total += max(x, 0.0) - x * truth[i] + log1p_small(exp(-abs(x)));
  }
  store_workgroup_sum(group.x, lane, total);
}

@compute @workgroup_size(256)
fn mse(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  var total = 0.0;
  for (var i = group.x * 256u + lane; i < params.count; i += params.groups * 256u) {
    let difference = input[i] - truth[i];
    total += difference * difference;
  }
  store_workgroup_sum(group.x, lane, total);
}

fn element(id: vec3<u32>, groups: vec3<u32>) -> u32 {
  return id.x + id.y * groups.x * 256u;
}

// d/dx = sigmoid(x) - t
@compute @workgroup_size(256)
fn bce_with_logits_backward_input(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i >= params.count) { return; }
  grad[i] = (sigmoid(input[i]) - truth[i]) * dy[0] / f32(params.count);
}

// d/dt = -x (needs no truth)
@compute @workgroup_size(256)
fn bce_with_logits_backward_target(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i >= params.count) { return; }
  grad[i] = -input[i] * dy[0] / f32(params.count);
}

// d/da = 2 (a - b), d/db = -2 (a - b): sign picks which.
@compute @workgroup_size(256)
fn mse_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i >= params.count) { return; }
  grad[i] = params.sign * 2.0 * (input[i] - truth[i]) * dy[0] / f32(params.count);
}
