// Included by elementwise.wgsl (Value = f32: one thread per element) and elementwise_vec4.wgsl (Value =
// vec4<f32>: one thread per 4 elements, for sizes that are a multiple of 4): the maps both run, written
// once. `count` counts Values. c[0] (a scalar in both) is the PReLU weight.

struct Params {
  count: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<storage, read> a: array<Value>;
@group(0) @binding(1) var<storage, read> b: array<Value>;
@group(0) @binding(2) var<storage, read_write> out: array<Value>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read> c: array<f32>;

fn element(id: vec3<u32>, groups: vec3<u32>) -> u32 {
  return id.x + id.y * groups.x * 256u;
}

@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = a[i] + b[i]; }
}

@compute @workgroup_size(256)
fn mul(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = a[i] * b[i]; }
}

// out += a: gradient accumulation into parameter gradients that live in flat storage.
@compute @workgroup_size(256)
fn add_inplace(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] += a[i]; }
}

// out = beta * out + alpha * a: a moving average in place; beta = 0 copies a exactly, whatever out held.
@compute @workgroup_size(256)
fn average_inplace(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = select(params.beta * out[i] + params.alpha * a[i], a[i], params.beta == 0.0); }
}

// out = alpha * a + beta * b
@compute @workgroup_size(256)
fn axpby(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = params.alpha * a[i] + params.beta * b[i]; }
}

// out = alpha * a + beta
@compute @workgroup_size(256)
fn affine(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = params.alpha * a[i] + params.beta; }
}

@compute @workgroup_size(256)
fn fill(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = Value(params.alpha); }
}

@compute @workgroup_size(256)
fn leaky_relu(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { let x = a[i]; out[i] = select(params.alpha * x, x, x > Value(0.0)); }
}

// a = x, b = dy
@compute @workgroup_size(256)
fn leaky_relu_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = select(params.alpha * b[i], b[i], a[i] > Value(0.0)); }
}

// c[0] = PReLU weight
@compute @workgroup_size(256)
fn prelu(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { let x = a[i]; out[i] = select(c[0] * x, x, x > Value(0.0)); }
}

// a = x, b = dy, c[0] = weight
@compute @workgroup_size(256)
fn prelu_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = select(c[0] * b[i], b[i], a[i] > Value(0.0)); }
}

// The terms of dL/dweight = sum(dy * x) over x <= 0; a = x, b = dy. Summed by the reduce kernel.
@compute @workgroup_size(256)
fn prelu_weight_terms(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = select(a[i] * b[i], Value(0.0), a[i] > Value(0.0)); }
}

// a = y = tanh(x), b = dy
@compute @workgroup_size(256)
fn tanh_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { let y = a[i]; out[i] = b[i] * (1.0 - y * y); }
}
