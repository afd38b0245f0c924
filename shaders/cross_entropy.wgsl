// Softmax cross-entropy over the rows of logits [rows, classes] with integer labels
// (engine/ops/cross-entropy.ts). Forward writes one loss per row (reduce.wgsl then takes the mean);
// backward recomputes the row's softmax per element instead of saving it: classes is small, and
// nothing of size [rows, classes] has to outlive the forward pass.

struct Params {
  rows: u32,
  classes: u32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
// The [1] upstream gradient of the mean loss, read on the GPU (no readback).
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;

fn element(id: vec3<u32>, groups: vec3<u32>) -> u32 {
  return id.x + id.y * groups.x * 256u;
}

fn row_max(row: u32) -> f32 {
  var largest = logits[row * params.classes];
  for (var k = 1u; k < params.classes; k++) { largest = max(largest, logits[row * params.classes + k]); }
  return largest;
}

// sum_k exp(x_k - max): at least 1, so its log never sees zero, and no exp overflows.
fn row_exp_sum(row: u32, largest: f32) -> f32 {
  var total = 0.0;
  for (var k = 0u; k < params.classes; k++) { total += exp(logits[row * params.classes + k] - largest); }
  return total;
}

// loss_r = logsumexp(x_r) - x_r[label_r]
@compute @workgroup_size(256)
fn cross_entropy_rows(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let row = element(id, groups);
  if (row >= params.rows) { return; }
  let largest = row_max(row);
  let label = u32(labels[row]);
  row_loss[row] = largest + log(row_exp_sum(row, largest)) - logits[row * params.classes + label];
}

// d mean / d x_rk = (softmax(x_r)_k - [k == label_r]) / rows
@compute @workgroup_size(256)
fn cross_entropy_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i >= params.rows * params.classes) { return; }
  let row = i / params.classes;
  let k = i - row * params.classes;
  let largest = row_max(row);
  let probability = exp(logits[i] - largest) / row_exp_sum(row, largest);
  let hit = select(0.0, 1.0, i32(k) == labels[row]);
  grad[i] = (probability - hit) * dy[0] / f32(params.rows);
}
