// Register-blocked matrix multiply: c[M, N] = op(a)[M, K] op(b)[K, N] (+ bias[N]), where op is the
// identity or a transpose chosen by pipeline overrides, so the backward passes (dY B^T, A^T dY)
// never materialise a transposed copy. Each thread keeps a 4x4 block of c in registers and there
// is no workgroup memory: on lavapipe barriers and shared-memory traffic cost more than they save.

struct Params {
  m: u32,
  n: u32,
  k: u32,
}

// a is stored [K, M] (op(a) = a^T) instead of [M, K].
override TRANSPOSE_A: bool = false;
// b is stored [N, K] (op(b) = b^T) instead of [K, N].
override TRANSPOSE_B: bool = false;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

const TILE = 4u;
const LANES = vec4<u32>(0u, 1u, 2u, 3u);

// Element strides of op(a) as (per row, per k) and of op(b) as (per k, per column). The entry
// points derive them from the overrides (written there, where reflection sees them), so the
// compiler sees constant unit strides.
fn stridesA(transposed: bool) -> vec2<u32> {
  return select(vec2<u32>(params.k, 1u), vec2<u32>(1u, params.m), transposed);
}

fn stridesB(transposed: bool) -> vec2<u32> {
  return select(vec2<u32>(params.n, 1u), vec2<u32>(1u, params.k), transposed);
}

// The 4x4 block of op(a) op(b) whose corner is (row0, column0), as a matrix whose column i is row
// i of the block. Rows and columns past the edge are clamped to the last one, so edge threads run
// the same branch-free loop as interior ones and simply do not store the duplicated results.
fn multiplyBlock(row0: u32, column0: u32, strideA: vec2<u32>, strideB: vec2<u32>) -> mat4x4<f32> {
  let rowStarts = min(vec4<u32>(row0) + LANES, vec4<u32>(params.m - 1u)) * strideA.x;
  let columnStarts = min(vec4<u32>(column0) + LANES, vec4<u32>(params.n - 1u)) * strideB.y;
  var row0Sum = vec4<f32>(0.0);
  var row1Sum = vec4<f32>(0.0);
  var row2Sum = vec4<f32>(0.0);
  var row3Sum = vec4<f32>(0.0);
  for (var k = 0u; k < params.k; k++) {
    let aColumn = rowStarts + k * strideA.y;
    let bRow = columnStarts + k * strideB.x;
    let bValues = vec4<f32>(b[bRow.x], b[bRow.y], b[bRow.z], b[bRow.w]);
    row0Sum += a[aColumn.x] * bValues;
    row1Sum += a[aColumn.y] * bValues;
    row2Sum += a[aColumn.z] * bValues;
    row3Sum += a[aColumn.w] * bValues;
  }
  return mat4x4<f32>(row0Sum, row1Sum, row2Sum, row3Sum);
}

fn store(row0: u32, column0: u32, sums: mat4x4<f32>, addition: vec4<f32>) {
  for (var i = 0u; i < TILE; i++) {
    let row = row0 + i;
    if (row >= params.m) { return; }
    let values = sums[i] + addition;
    for (var j = 0u; j < TILE; j++) {
      if (column0 + j < params.n) { c[row * params.n + column0 + j] = values[j]; }
    }
  }
}

// Workgroup (16, 4) covers 64 columns x 16 rows of c (x: columns, y: rows); a flat shape suits
// thin products (batch-1 linear layers) and measured slightly faster than (8, 8) on lavapipe.
@compute @workgroup_size(16, 4)
fn matmul(@builtin(global_invocation_id) id: vec3<u32>) {
  let row0 = id.y * TILE;
  let column0 = id.x * TILE;
  if (row0 >= params.m || column0 >= params.n) { return; }
  let sums = multiplyBlock(row0, column0, stridesA(TRANSPOSE_A), stridesB(TRANSPOSE_B));
  store(row0, column0, sums, vec4<f32>(0.0));
}

// Linear layers: the same product plus bias[column].
@compute @workgroup_size(16, 4)
fn matmul_bias(@builtin(global_invocation_id) id: vec3<u32>) {
  let row0 = id.y * TILE;
  let column0 = id.x * TILE;
  if (row0 >= params.m || column0 >= params.n) { return; }
  let columns = min(vec4<u32>(column0) + LANES, vec4<u32>(params.n - 1u));
  let addition = vec4<f32>(bias[columns.x], bias[columns.y], bias[columns.z], bias[columns.w]);
  let sums = multiplyBlock(row0, column0, stridesA(TRANSPOSE_A), stridesB(TRANSPOSE_B));
  store(row0, column0, sums, addition);
}
