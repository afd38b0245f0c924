// out[o, m, i] = scale * g[m] for out viewed as [outer, mid, inner]: the gradient of reduce.wgsl,
// and the way per-channel vectors are spread over NCHW tensors.

struct Params {
  count: u32,
  mid: u32,
  inner: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = id.x + id.y * groups.x * 256u;
  if (i >= params.count) { return; }
  let m = (i / params.inner) % params.mid;
  out[i] = params.scale * g[m];
}
