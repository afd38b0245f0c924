// Sums a tensor viewed as [outer, mid, inner] over outer and inner: out[m] = sum x[o, m, i], times
// `scale` (1/count for a mean). Covers a full sum (mid = 1), per-channel sums of NCHW (outer = N,
// mid = C, inner = H*W) and row sums. Workgroup (m, p) sums part p of the `parts` equal runs of
// output m's outer * inner values (256 threads stride, then a tree sum) into out[m * parts + p]:
// with parts > 1 (on a GPU, where one workgroup per output left a 1-output sum of 1M values at
// 3 GB/s), a second dispatch with outer = 1, inner = parts adds the parts.

struct Params {
  outer: u32,
  mid: u32,
  inner: u32,
  scale: f32,
  parts: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// The same buffer as x, for main_vec4's aligned loads (inner a multiple of 4).
@group(0) @binding(3) var<storage, read> x4: array<vec4<f32>>;

var<workgroup> partial: array<f32, 256>;

// A thread's place among output m's values, flat position k = row * units + column (row: o, column: i),
// stepped by 256 rather than divided per value (the per-value division was most of this kernel).
// #include row_cursor

fn cursor_start(k: u32, units: u32) -> Cursor {
  let row = k / units;
  return Cursor(row, k - row * units);
}

// Part `part` of the flat range [0, total): where it starts and ends.
fn part_range(part: u32, total: u32) -> vec2<u32> {
  let length = (total + params.parts - 1u) / params.parts;
  return vec2<u32>(part * length, min(total, (part + 1u) * length));
}

// The workgroup's sum of each lane's `sum`, stored by lane 0: two serial levels (16 lanes fold 16
// partials each, then lane 0 folds those 16) rather than an 8-level tree, as batchnorm.wgsl's
// workgroup_sum: on lavapipe each barrier costs more than the adds it saves.
fn store_sum(m: u32, part: u32, lane: u32, sum: f32) {
  partial[lane] = sum;
  workgroupBarrier();
  if (lane < 16u) {
    var total = 0.0;
    for (var k = lane; k < 256u; k += 16u) { total += partial[k]; }
    partial[lane] = total;
  }
  workgroupBarrier();
  if (lane == 0u) {
    var total = 0.0;
    for (var k = 0u; k < 16u; k++) { total += partial[k]; }
    out[m * params.parts + part] = total * params.scale;
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let m = group.x;
  let range = part_range(group.y, params.outer * params.inner);
  var sum = 0.0;
  var cursor = cursor_start(range.x + lane, params.inner);
  for (var k = range.x + lane; k < range.y; k += 256u) {
    sum += x[(cursor.row * params.mid + m) * params.inner + cursor.column];
    cursor = cursor_next_in(cursor, params.inner);
  }
  store_sum(m, group.y, lane, sum);
}

// `main` over vec4s of 4 consecutive inner values (inner a multiple of 4).
@compute @workgroup_size(256)
fn main_vec4(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let m = group.x;
  let quads = params.inner / 4u;
  let range = part_range(group.y, params.outer * quads);
  var sum = vec4<f32>(0.0);
  var cursor = cursor_start(range.x + lane, quads);
  for (var k = range.x + lane; k < range.y; k += 256u) {
    sum += x4[(cursor.row * params.mid + m) * quads + cursor.column];
    cursor = cursor_next_in(cursor, quads);
  }
  store_sum(m, group.y, lane, (sum.x + sum.y) + (sum.z + sum.w));
}

// One thread per output, for outputs of a few values each (a dense layer's bias gradient: 16 values
// for each of 1024 outputs). `main` would run a workgroup of 256 lanes and its barriers per output:
// 2.7 ms for 64 KB on lavapipe.
@compute @workgroup_size(64)
fn main_per_thread(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let m = id.y * groups.x * 64u + id.x;
  if (m >= params.mid) { return; }
  var sum = 0.0;
  for (var o = 0u; o < params.outer; o++) {
    let start = (o * params.mid + m) * params.inner;
    for (var i = 0u; i < params.inner; i++) { sum += x[start + i]; }
  }
  out[m] = sum * params.scale;
}

// The gradient of a single PReLU weight, sum of x * dy over the elements where x <= 0, summed as the
// terms are formed (x4: the input, dy4: the upstream gradient, as vec4s; outer = mid = 1): no
// tensor of terms the size of the activation (37.7 MB for the SRGAN's 96x96 layer) is written and
// read back.
@group(0) @binding(4) var<storage, read> dy4: array<vec4<f32>>;

@compute @workgroup_size(256)
fn prelu_weight_gradient_vec4(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let range = part_range(group.y, params.inner / 4u);
  var sum = vec4<f32>(0.0);
  for (var k = range.x + lane; k < range.y; k += 256u) {
    let v = x4[k];
    sum += select(v * dy4[k], vec4<f32>(0.0), v > vec4<f32>(0.0));
  }
  store_sum(0u, group.y, lane, (sum.x + sum.y) + (sum.z + sum.w));
}
