// Activations the training tape keeps for backward, stored as f16: two to a u32 word (element 2i in
// the low half), packed with pack2x16float, which is core WGSL, so any adapter runs it (the
// `shader-f16` feature is only needed for f16 arithmetic, which this does not do). `count` counts
// f32 elements. The `_vec4` entry points move 4 elements per thread, for counts that are a multiple
// of 4 (every activation of the paper models); the others one word (2 elements) per thread.
//
// Values beyond f16's range (+-65504) are stored as +-65504: pack2x16float leaves them undefined.

struct Params {
  count: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> packed_out: array<u32>;
@group(0) @binding(2) var<storage, read> packed: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> packed_out2: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read> packed2: array<vec2<u32>>;
@group(0) @binding(7) var<storage, read_write> out4: array<vec4<f32>>;
@group(0) @binding(8) var<uniform> params: Params;

const F16_MAX = 65504.0;

fn thread_index(id: vec3<u32>, groups: vec3<u32>) -> u32 {
  return id.x + id.y * groups.x * 256u;
}

fn to_half_pair(pair: vec2<f32>) -> u32 {
  return pack2x16float(clamp(pair, vec2(-F16_MAX), vec2(F16_MAX)));
}

@compute @workgroup_size(256)
fn pack(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let word = thread_index(id, groups);
  let first = 2u * word;
  if (first >= params.count) { return; }
  // An odd count's last word has a zero in its high half.
  let second = select(0.0, x[min(first + 1u, params.count - 1u)], first + 1u < params.count);
  packed_out[word] = to_half_pair(vec2(x[first], second));
}

@compute @workgroup_size(256)
fn unpack(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let word = thread_index(id, groups);
  let first = 2u * word;
  if (first >= params.count) { return; }
  let pair = unpack2x16float(packed[word]);
  out[first] = pair.x;
  if (first + 1u < params.count) { out[first + 1u] = pair.y; }
}

@compute @workgroup_size(256)
fn pack_vec4(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = thread_index(id, groups);
  if (4u * i >= params.count) { return; }
  let v = x4[i];
  packed_out2[i] = vec2(to_half_pair(v.xy), to_half_pair(v.zw));
}

@compute @workgroup_size(256)
fn unpack_vec4(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = thread_index(id, groups);
  if (4u * i >= params.count) { return; }
  let words = packed2[i];
  out4[i] = vec4(unpack2x16float(words.x), unpack2x16float(words.y));
}
