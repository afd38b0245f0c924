// elementwise.wgsl's hottest maps over vec4s, for tensors whose size is a multiple of 4 (every
// activation of the paper models): one thread per 4 elements, `count` vec4s. The same arithmetic per
// element; on lavapipe each storage access is a per-lane, bounds-checked load or store, and a vec4 costs
// about what 3 scalars do (BatchNorm's vec4 passes: 0.65-0.84x the time, bench/RESULTS.md).

struct Params {
  count: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> params: Params;
// c[0]: the PReLU weight.
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

@compute @workgroup_size(256)
fn add_inplace(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] += a[i]; }
}

// out = beta * out + alpha * a; beta = 0 copies a exactly, whatever out held.
@compute @workgroup_size(256)
fn average_inplace(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = select(params.beta * out[i] + params.alpha * a[i], a[i], params.beta == 0.0); }
}

@compute @workgroup_size(256)
fn fill(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = vec4<f32>(params.alpha); }
}

@compute @workgroup_size(256)
fn axpby(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = params.alpha * a[i] + params.beta * b[i]; }
}

@compute @workgroup_size(256)
fn affine(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { out[i] = params.alpha * a[i] + params.beta; }
}

@compute @workgroup_size(256)
fn leaky_relu(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { let x = a[i]; out[i] = select(params.alpha * x, x, x > vec4<f32>(0.0)); }
}

// a = x (or the output, for a positive slope), b = dy
@compute @workgroup_size(256)
fn leaky_relu_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { let dy = b[i]; out[i] = select(params.alpha * dy, dy, a[i] > vec4<f32>(0.0)); }
}

@compute @workgroup_size(256)
fn prelu(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { let x = a[i]; out[i] = select(c[0] * x, x, x > vec4<f32>(0.0)); }
}

// a = x, b = dy
@compute @workgroup_size(256)
fn prelu_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { let dy = b[i]; out[i] = select(c[0] * dy, dy, a[i] > vec4<f32>(0.0)); }
}

// a = x, b = dy
@compute @workgroup_size(256)
fn prelu_weight_terms(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { let x = a[i]; out[i] = select(x * b[i], vec4<f32>(0.0), x > vec4<f32>(0.0)); }
}

// a = y = tanh(x), b = dy
@compute @workgroup_size(256)
fn tanh_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { let y = a[i]; out[i] = b[i] * (1.0 - y * y); }
}
