// Copies a block of channels between two tensors viewed as [N, C, plane]: channels
// [sourceOffset, sourceOffset + channels) of x go to [targetOffset, targetOffset + channels) of out.
// Channel concatenation is one such copy per input; its backward (the split) is the reverse copy.

struct Params {
  count: u32,
  channels: u32,
  plane: u32,
  sourceChannels: u32,
  sourceOffset: u32,
  targetChannels: u32,
  targetOffset: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// count = N * channels * plane; one thread per copied element.
@compute @workgroup_size(256)
fn copy_channels(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = id.x + id.y * groups.x * 256u;
  if (i >= params.count) { return; }
  let perBatch = params.channels * params.plane;
  let batch = i / perBatch;
  let within = i - batch * perBatch;
  out[(batch * params.targetChannels + params.targetOffset) * params.plane + within] =
    x[(batch * params.sourceChannels + params.sourceOffset) * params.plane + within];
}
