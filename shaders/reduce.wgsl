// Sums a tensor viewed as [outer, mid, inner] over outer and inner: out[m] = sum x[o, m, i], times
// `scale` (1/count for a mean). One workgroup per output; 256 threads stride, then a tree sum.
// Covers a full sum (mid = 1), per-channel sums of NCHW (outer = N, mid = C, inner = H*W) and row sums.

struct Params {
  outer: u32,
  mid: u32,
  inner: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let m = group.x;
  let total = params.outer * params.inner;
  var sum = 0.0;
  for (var k = lane; k < total; k += 256u) {
    let o = k / params.inner;
    let i = k - o * params.inner;
    sum += x[(o * params.mid + m) * params.inner + i];
  }
  partial[lane] = sum;
  workgroupBarrier();
  for (var stride = 128u; stride > 0u; stride >>= 1u) {
    if (lane < stride) { partial[lane] += partial[lane + stride]; }
    workgroupBarrier();
  }
  if (lane == 0u) { out[m] = partial[0] * params.scale; }
}
