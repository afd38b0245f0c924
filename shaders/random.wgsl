// Counter-based random numbers (engine/ops/random.ts): Philox4x32-10 (Salmon et al., Random123)
// keyed by the engine's (seed, counter) pair, with counter block = element index / 4. Each thread
// makes one block of four 32-bit words and handles four consecutive elements, so any kernel that
// knows the key can regenerate the same bits (dropout backward does, instead of storing a mask).

struct Params {
  count: u32,
  key_seed: u32,
  key_counter: u32,
  // Dropout: keep an element when its word >= threshold (= p * 2^32); kept values scale by `scale`.
  threshold: u32,
  scale: f32,
  // randomNormal: mean + std * z; randomUniform: offset + range * u.
  offset: f32,
  range: f32,
  // randomNormalRows: row length.
  columns: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read_write> bits: array<u32>;
@group(0) @binding(4) var<storage, read> streams: array<u32>;

// 32 x 32 -> 64-bit product as (high, low) words; WGSL has no u64, so multiply 16-bit halves.
fn multiply_wide(a: u32, b: u32) -> vec2<u32> {
  let a_low = a & 0xffffu;
  let a_high = a >> 16u;
  let b_low = b & 0xffffu;
  let b_high = b >> 16u;
  let low_low = a_low * b_low;
  let cross_a = a_high * b_low;
  let cross_b = a_low * b_high;
  let middle = (low_low >> 16u) + (cross_a & 0xffffu) + (cross_b & 0xffffu);
  let high = a_high * b_high + (cross_a >> 16u) + (cross_b >> 16u) + (middle >> 16u);
  return vec2<u32>(high, a * b);
}

fn philox4x32_10(counter_in: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
  var counter = counter_in;
  var key = key_in;
  for (var round_index = 0u; round_index < 10u; round_index++) {
    let product0 = multiply_wide(0xD2511F53u, counter.x);
    let product1 = multiply_wide(0xCD9E8D57u, counter.z);
    counter = vec4<u32>(product1.x ^ counter.y ^ key.x, product1.y, product0.x ^ counter.w ^ key.y, product0.y);
    key += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return counter;
}

fn thread_index(id: vec3<u32>, groups: vec3<u32>) -> u32 {
  return id.x + id.y * groups.x * 256u;
}

// (`block` itself is a reserved word to wgsl_reflect.)
fn block_bits(block_index: u32) -> vec4<u32> {
  return philox4x32_10(vec4<u32>(block_index, 0u, 0u, 0u), vec2<u32>(params.key_seed, params.key_counter));
}

// Uniform in (0, 1): the top 24 bits, centred, so neither 0 (log in Box-Muller) nor 1 appears.
fn to_unit(word: u32) -> f32 {
  return (f32(word >> 8u) + 0.5) * (1.0 / 16777216.0);
}

// Raw words, for testing the generator against Random123's known answers.
@compute @workgroup_size(256)
fn random_bits(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let block_index = thread_index(id, groups);
  let words = block_bits(block_index);
  for (var lane = 0u; lane < 4u; lane++) {
    let i = block_index * 4u + lane;
    if (i < params.count) { bits[i] = words[lane]; }
  }
}

@compute @workgroup_size(256)
fn random_uniform(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let block_index = thread_index(id, groups);
  let words = block_bits(block_index);
  for (var lane = 0u; lane < 4u; lane++) {
    let i = block_index * 4u + lane;
    if (i < params.count) { out[i] = params.offset + params.range * to_unit(words[lane]); }
  }
}

// Box-Muller on words (0, 1) and (2, 3): four normals per block.
fn to_normals(words: vec4<u32>) -> vec4<f32> {
  let radius = sqrt(-2.0 * log(vec2<f32>(to_unit(words.x), to_unit(words.z))));
  let angle = 6.283185307179586 * vec2<f32>(to_unit(words.y), to_unit(words.w));
  return vec4<f32>(radius.x * cos(angle.x), radius.x * sin(angle.x), radius.y * cos(angle.y), radius.y * sin(angle.y));
}

@compute @workgroup_size(256)
fn random_normal(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let block_index = thread_index(id, groups);
  let normals = to_normals(block_bits(block_index));
  for (var lane = 0u; lane < 4u; lane++) {
    let i = block_index * 4u + lane;
    if (i < params.count) { out[i] = params.offset + params.range * normals[lane]; }
  }
}

// out = keep ? x * scale : 0. Backward runs this same entry on dy with the same key.
@compute @workgroup_size(256)
fn dropout(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let block_index = thread_index(id, groups);
  let words = block_bits(block_index);
  for (var lane = 0u; lane < 4u; lane++) {
    let i = block_index * 4u + lane;
    if (i < params.count) { out[i] = select(0.0, x[i] * params.scale, words[lane] >= params.threshold); }
  }
}

// `dropout` over vec4s (count a multiple of 4): one aligned load and store a block instead of four
// checked scalar ones each (lavapipe checks every load and store per lane): 0.91x the time of a
// [64, 64, 32, 32] dropout. Philox's ten rounds are the rest.
@group(0) @binding(5) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> out4: array<vec4<f32>>;

@compute @workgroup_size(256)
fn dropout_vec4(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let block_index = thread_index(id, groups);
  if (block_index * 4u >= params.count) { return; }
  let words = block_bits(block_index);
  out4[block_index] = select(vec4<f32>(0.0), x4[block_index] * params.scale, words >= vec4<u32>(params.threshold));
}

// Row r of [rows, columns] comes from its own stream: key (seed, streams[r]), and counter word 1
// set to 1 so these streams never meet the engine's (seed, counter) keys, whose word 1 is 0.
@compute @workgroup_size(256)
fn random_normal_rows(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let blocks_per_row = (params.columns + 3u) / 4u;
  let thread = thread_index(id, groups);
  let row = thread / blocks_per_row;
  if (row * params.columns >= params.count) { return; }
  let block_index = thread - row * blocks_per_row;
  let words = philox4x32_10(vec4<u32>(block_index, 1u, 0u, 0u), vec2<u32>(params.key_seed, streams[row]));
  let normals = to_normals(words);
  for (var lane = 0u; lane < 4u; lane++) {
    let column = block_index * 4u + lane;
    if (column < params.columns) { out[row * params.columns + column] = params.offset + params.range * normals[lane]; }
  }
}
