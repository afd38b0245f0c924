// Up to 7 leaf gradients added into slices of one buffer in one dispatch: grads[offset_i + j] +=
// source_i[j] for j < length_i (engine/ops/gradient-adds.ts). A backward produces one gradient per
// parameter, and a model's parameters keep theirs in one flat buffer (engine/parameters.ts), so a
// GPU step made one small add_inplace dispatch per parameter (191 an SRGAN step). Workgroup row y is
// pair y; the slices never overlap (the caller sees to it), so no two threads write one element.

struct Params {
  pairs: u32,
  offset0: u32, offset1: u32, offset2: u32, offset3: u32, offset4: u32, offset5: u32, offset6: u32,
  length0: u32, length1: u32, length2: u32, length3: u32, length4: u32, length5: u32, length6: u32,
}

@group(0) @binding(0) var<storage, read_write> grads: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> source0: array<f32>;
@group(0) @binding(3) var<storage, read> source1: array<f32>;
@group(0) @binding(4) var<storage, read> source2: array<f32>;
@group(0) @binding(5) var<storage, read> source3: array<f32>;
@group(0) @binding(6) var<storage, read> source4: array<f32>;
@group(0) @binding(7) var<storage, read> source5: array<f32>;
@group(0) @binding(8) var<storage, read> source6: array<f32>;

// WGSL cannot index bindings: pair -> (offset, length) and (pair, j) -> source value by switch.
fn slice_of(pair: u32) -> vec2<u32> {
  switch pair {
    case 0u: { return vec2<u32>(params.offset0, params.length0); }
    case 1u: { return vec2<u32>(params.offset1, params.length1); }
    case 2u: { return vec2<u32>(params.offset2, params.length2); }
    case 3u: { return vec2<u32>(params.offset3, params.length3); }
    case 4u: { return vec2<u32>(params.offset4, params.length4); }
    case 5u: { return vec2<u32>(params.offset5, params.length5); }
    default: { return vec2<u32>(params.offset6, params.length6); }
  }
}

fn source_value(pair: u32, j: u32) -> f32 {
  switch pair {
    case 0u: { return source0[j]; }
    case 1u: { return source1[j]; }
    case 2u: { return source2[j]; }
    case 3u: { return source3[j]; }
    case 4u: { return source4[j]; }
    case 5u: { return source5[j]; }
    default: { return source6[j]; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let pair = id.y;
  if (pair >= params.pairs) { return; }
  let slice = slice_of(pair);
  for (var j = id.x; j < slice.y; j += groups.x * 256u) {
    grads[slice.x + j] += source_value(pair, j);
  }
}
