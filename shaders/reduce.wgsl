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

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let m = group.x;
  let part = group.y;
  let total = params.outer * params.inner;
  let length = (total + params.parts - 1u) / params.parts;
  let end = min(total, (part + 1u) * length);
  var sum = 0.0;
  for (var k = part * length + lane; k < end; k += 256u) {
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
  if (lane == 0u) { out[m * params.parts + part] = partial[0] * params.scale; }
}
