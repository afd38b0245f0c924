// Embedding lookup and its gradient. weight: [rows, dim]; indices: [lookups] (i32); out: [lookups, dim].
// The gradient is a gather, not a scatter: one thread per weight element sums, in index order, the
// upstream rows that looked it up. No float atomics, so the result is bit-identical run to run.
// Indices are validated on the CPU where they are made (labels); an index outside [0, rows)
// reads as a zero row here instead of reading out of bounds.

struct Params {
  count: u32,
  dim: u32,
  rows: u32,
  lookups: u32,
}

@group(0) @binding(0) var<storage, read> indices: array<i32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
// The upstream gradient [lookups, dim] (backward only).
@group(0) @binding(2) var<storage, read> gradOutput: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

fn element(id: vec3<u32>, groups: vec3<u32>) -> u32 {
  return id.x + id.y * groups.x * 256u;
}

// out[lookup, column] = weight[indices[lookup], column]; count = lookups * dim.
@compute @workgroup_size(256)
fn embedding_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i >= params.count) { return; }
  let lookup = i / params.dim;
  let column = i - lookup * params.dim;
  let index = indices[lookup];
  if (index < 0 || u32(index) >= params.rows) {
    out[i] = 0.0;
    return;
  }
  out[i] = weight[u32(index) * params.dim + column];
}

// out[row, column] = sum over lookups with indices[lookup] == row of gradOutput[lookup, column];
// count = rows * dim.
@compute @workgroup_size(256)
fn embedding_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i >= params.count) { return; }
  let row = i32(i / params.dim);
  let column = i % params.dim;
  var total = 0.0;
  for (var lookup = 0u; lookup < params.lookups; lookup++) {
    if (indices[lookup] == row) { total += gradOutput[lookup * params.dim + column]; }
  }
  out[i] = total;
}
