// BatchNorm2d (engine/ops/batchnorm.ts). x: [N, C, H, W] seen as [batch, channels, plane].
// Per-channel reductions use one workgroup per channel and part (workgroup y): 256 lanes walk the
// part's images (batchPerPart of them; on a software adapter one part, the whole batch) of the
// channel with a (batch, pixel) cursor instead of a division per element, then a two-level merge.
// With several parts (a GPU, where one workgroup per channel left most of it idle) each part writes
// its own slot, [part, channel], and the parts are added (sums) or merged (finish_statistics).
// The variance never uses E[x^2] - E[x]^2 on raw values (in f32 that loses everything when
// |mean| >> std): see train_statistics. stats holds [mean (C), invstd (C)] for the other passes.

struct Params {
  batch: u32,
  channels: u32,
  plane: u32,
  eps: f32,
  momentum: f32,
  // 1 / (N*H*W) in training, where the batch statistics depend on x; 0 in eval.
  correction: f32,
  // Images per part of a per-channel reduction (= batch with one part).
  batchPerPart: u32,
  parts: u32,
  // The fused activation's negative slope: LeakyReLU's constant, or (slopeInBuffer = 1) act_slope[0].
  slope: f32,
  slopeInBuffer: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(5) var<storage, read> weight: array<f32>;
@group(0) @binding(6) var<storage, read> bias: array<f32>;
@group(0) @binding(7) var<storage, read> saved_stats: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;
@group(0) @binding(9) var<storage, read> dy: array<f32>;
@group(0) @binding(10) var<storage, read_write> grad_weight: array<f32>;
@group(0) @binding(11) var<storage, read_write> grad_bias: array<f32>;
@group(0) @binding(12) var<storage, read> sum_dy: array<f32>;
@group(0) @binding(13) var<storage, read> sum_dy_xhat: array<f32>;
// PReLU's weight ([1]; under LeakyReLU a stand-in binding, never read) and, for PReLU's weight
// gradient, one partial sum per channel.
@group(0) @binding(14) var<storage, read> act_slope: array<f32>;
@group(0) @binding(15) var<storage, read_write> act_slope_partial: array<f32>;
// train_statistics with several parts: (count, shifted mean, M2) per [part, channel].
@group(0) @binding(16) var<storage, read_write> statistics_parts: array<f32>;
// finish_backward_sums: the per-channel totals of grad_bias and grad_weight's parts.
@group(0) @binding(17) var<storage, read_write> grad_bias_total: array<f32>;
@group(0) @binding(18) var<storage, read_write> grad_weight_total: array<f32>;

var<workgroup> partial_a: array<f32, 256>;
var<workgroup> partial_b: array<f32, 256>;
var<workgroup> partial_count: array<f32, 256>;

// Workgroup reductions take two serial levels (16 lanes fold 16 partials each, then lane 0 folds
// those 16) rather than an 8-level tree: on CPU Vulkan every barrier costs more than the adds.

/** Sums a and b over the workgroup's 256 lanes; lane 0 gets both totals. */
fn workgroup_sum(lane: u32, a: f32, b: f32) -> vec2<f32> {
  partial_a[lane] = a;
  partial_b[lane] = b;
  workgroupBarrier();
  if (lane < 16u) {
    var total = vec2<f32>(0.0, 0.0);
    for (var k = lane; k < 256u; k += 16u) { total += vec2<f32>(partial_a[k], partial_b[k]); }
    partial_a[lane] = total.x;
    partial_b[lane] = total.y;
  }
  workgroupBarrier();
  var total = vec2<f32>(0.0, 0.0);
  if (lane == 0u) {
    for (var k = 0u; k < 16u; k++) { total += vec2<f32>(partial_a[k], partial_b[k]); }
  }
  return total;
}

// The cursor that visits lane, lane + 256, ... of one channel's batch * plane elements (or, with
// `units` = plane / 4, of its vec4s): row = image, column = place in the plane.
// #include row_cursor

// The cursor of `lane` in part `part` (workgroup y), and the image where that part ends.
fn cursor_start(lane: u32, part: u32) -> Cursor {
  return cursor_start_in(lane, part, params.plane);
}

fn cursor_start_in(lane: u32, part: u32, units: u32) -> Cursor {
  return Cursor(part * params.batchPerPart + lane / units, lane % units);
}

fn part_end(part: u32) -> u32 {
  return min(params.batch, (part + 1u) * params.batchPerPart);
}

fn cursor_next(cursor: Cursor) -> Cursor {
  return cursor_next_in(cursor, params.plane);
}

fn element_index(cursor: Cursor, channel: u32) -> u32 {
  return (cursor.row * params.channels + channel) * params.plane + cursor.column;
}

/** Adds the statistics in slot `source` to those in slot `destination` (Chan et al.'s pairwise formula). */
fn merge_slot(destination: u32, source: u32) {
  let count_b = partial_count[source];
  if (count_b == 0.0) { return; }
  let count_a = partial_count[destination];
  let total = count_a + count_b;
  let delta = partial_a[source] - partial_a[destination];
  partial_a[destination] += delta * count_b / total;
  partial_b[destination] += partial_b[source] + delta * delta * count_a * count_b / total;
  partial_count[destination] = total;
}

/** Merges lane statistics (count, mean, M2 = sum of squared deviations); lane 0 ends with the totals in slot 0. */
fn merge_statistics(lane: u32, count: f32, mean: f32, m2: f32) {
  partial_count[lane] = count;
  partial_a[lane] = mean;
  partial_b[lane] = m2;
  workgroupBarrier();
  if (lane < 16u) {
    for (var k = lane + 16u; k < 256u; k += 16u) { merge_slot(lane, k); }
  }
  workgroupBarrier();
  if (lane == 0u) {
    for (var k = 1u; k < 16u; k++) { merge_slot(0u, k); }
  }
}

// One workgroup per channel, one pass over x: every lane sums its elements shifted by the channel's
// first element (so the squares do not cancel catastrophically when |mean| >> std), the lanes merge
// their shifted statistics, and lane 0 adds the shift back once: one rounding at the mean's
// magnitude, whatever order the lanes merge in (per-lane shifts cost one per merge). Lane 0 writes
// mean and invstd to stats and updates the running statistics in place.
@compute @workgroup_size(256)
fn train_statistics(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let channel = group.x;
  let shift = x[element_index(Cursor(0u, 0u), channel)];
  var cursor = cursor_start(lane, group.y);
  let end = part_end(group.y);
  var count = 0.0;
  var shifted_sum = 0.0;
  var shifted_squares = 0.0;
  for (; cursor.row < end; cursor = cursor_next(cursor)) {
    let shifted = x[element_index(cursor, channel)] - shift;
    shifted_sum += shifted;
    shifted_squares += shifted * shifted;
    count += 1.0;
  }
  store_lane_statistics(lane, group.y, channel, count, shifted_sum, shifted_squares, shift);
}

// Merges the lanes' shifted sums; lane 0 stores the channel's statistics (or, with several parts, the
// part's count, shifted mean and M2).
fn store_lane_statistics(lane: u32, part: u32, channel: u32, count: f32, shifted_sum: f32, shifted_squares: f32, shift: f32) {
  let lane_count = max(count, 1.0);
  merge_statistics(lane, count, shifted_sum / lane_count, max(shifted_squares - shifted_sum * shifted_sum / lane_count, 0.0));
  if (lane != 0u) { return; }
  if (params.parts == 1u) {
    store_statistics(channel, partial_count[0], shift + partial_a[0], partial_b[0]);
  } else {
    let slot = 3u * (part * params.channels + channel);
    statistics_parts[slot] = partial_count[0];
    statistics_parts[slot + 1u] = partial_a[0];
    statistics_parts[slot + 2u] = partial_b[0];
  }
}

// mean and invstd to stats, and the running statistics updated, from the channel's count, mean and M2.
fn store_statistics(channel: u32, total: f32, mean: f32, m2: f32) {
  stats[channel] = mean;
  stats[params.channels + channel] = inverseSqrt(m2 / total + params.eps);
  running_mean[channel] = (1.0 - params.momentum) * running_mean[channel] + params.momentum * mean;
  running_var[channel] = (1.0 - params.momentum) * running_var[channel] + params.momentum * m2 / (total - 1.0);
}

// One thread per channel: merges the parts' shifted statistics in order (Chan et al., as merge_slot),
// adds the shift back once and stores them.
@compute @workgroup_size(64)
fn finish_statistics(@builtin(global_invocation_id) id: vec3<u32>) {
  let channel = id.x;
  if (channel >= params.channels) { return; }
  var total = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var part = 0u; part < params.parts; part++) {
    let slot = 3u * (part * params.channels + channel);
    let count = statistics_parts[slot];
    if (count == 0.0) { continue; }
    let merged = total + count;
    let delta = statistics_parts[slot + 1u] - mean;
    mean += delta * count / merged;
    m2 += statistics_parts[slot + 2u] + delta * delta * total * count / merged;
    total = merged;
  }
  store_statistics(channel, total, x[element_index(Cursor(0u, 0u), channel)] + mean, m2);
}

// One thread per channel: eval mode normalises with the running statistics.
@compute @workgroup_size(64)
fn eval_statistics(@builtin(global_invocation_id) id: vec3<u32>) {
  let channel = id.x;
  if (channel >= params.channels) { return; }
  stats[channel] = running_mean[channel];
  stats[params.channels + channel] = inverseSqrt(running_var[channel] + params.eps);
}

// Element-wise passes. With PLANE_GRID the grid is [plane / (4 * ELEMENTWISE_THREADS), channels, batch]
// (256 threads; for planes of 64-255 elements, about a quarter as many as the plane has): the channel
// comes from the workgroup id, so a thread loads its channel's constants once and then walks several
// pixels, ELEMENTWISE_THREADS * groups.x apart (lavapipe loads storage lane by lane, so four per-channel
// loads per element cost as much as the element's own). Otherwise (smaller planes, or more channels or
// images than a grid dimension holds) a linear grid of 256-thread workgroups, one element per thread,
// paying two integer divisions (scalarised on CPU Vulkan).
// Entry points pass PLANE_GRID to span() themselves: wgsl_reflect only lists overrides an entry names.
override PLANE_GRID: bool = false;
// Threads per workgroup of the element-wise passes: 256 on a linear grid.
override ELEMENTWISE_THREADS: u32 = 256u;

// The elements a thread visits: first, first + step, ... below end, all of one channel.
struct Span {
  first: u32,
  step: u32,
  end: u32,
  channel: u32,
}

fn span(id: vec3<u32>, groups: vec3<u32>, plane_grid: bool) -> Span {
  return span_in(id, groups, plane_grid, params.plane);
}

// span() over `units` per plane: its elements, or (span4) its vec4s.
fn span_in(id: vec3<u32>, groups: vec3<u32>, plane_grid: bool, units: u32) -> Span {
  if (plane_grid) {
    let base = (id.z * params.channels + id.y) * units;
    return Span(base + id.x, groups.x * ELEMENTWISE_THREADS, base + units, id.y);
  }
  let i = id.x + id.y * groups.x * 256u;
  let inside = i < params.batch * params.channels * units;
  return Span(i, 1u, select(i, i + 1u, inside), (i / units) % params.channels);
}

// A channel's normalisation as (x - mean) * scale + bias, scale = invstd * weight.
struct Affine {
  mean: f32,
  invstd: f32,
  scale: f32,
  bias: f32,
}

fn channel_affine(channel: u32) -> Affine {
  let invstd = saved_stats[params.channels + channel];
  return Affine(saved_stats[channel], invstd, invstd * weight[channel], bias[channel]);
}

// The one expression for BN's output, so forward and backward agree on every element (and on which
// side of an activation's kink it falls).
fn normalized(index: u32, a: Affine) -> f32 {
  return (x[index] - a.mean) * a.scale + a.bias;
}

// out = (x - mean) * invstd * weight + bias
@compute @workgroup_size(ELEMENTWISE_THREADS)
fn normalize(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = span(id, groups, PLANE_GRID);
  let a = channel_affine(s.channel);
  for (var i = s.first; i < s.end; i += s.step) { out[i] = normalized(i, a); }
}

// One workgroup per channel: grad_bias = sum dy, grad_weight = sum dy * xhat.
@compute @workgroup_size(256)
fn backward_reduce(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let channel = group.x;
  let mean = saved_stats[channel];
  let invstd = saved_stats[params.channels + channel];
  var dy_total = 0.0;
  var dy_xhat_total = 0.0;
  let end = part_end(group.y);
  for (var cursor = cursor_start(lane, group.y); cursor.row < end; cursor = cursor_next(cursor)) {
    let index = element_index(cursor, channel);
    dy_total += dy[index];
    dy_xhat_total += dy[index] * (x[index] - mean);
  }
  store_backward_sums(lane, group.y, channel, dy_total, dy_xhat_total, invstd);
}

// Lane 0 stores the workgroup's sums: grad_bias = sum g, grad_weight = sum g * (x - mean) * invstd, in
// the part's slot (the channel's own with one part; several are added afterwards).
fn store_backward_sums(lane: u32, part: u32, channel: u32, g: f32, g_centred: f32, invstd: f32) {
  let totals = workgroup_sum(lane, g, g_centred);
  if (lane == 0u) {
    let slot = part * params.channels + channel;
    grad_bias[slot] = totals.x;
    grad_weight[slot] = totals.y * invstd;
  }
}

// One thread per channel: with several parts, adds the parts' backward sums (one dispatch for both,
// where two reductions were: a GPU step has dozens of BatchNorms).
@compute @workgroup_size(64)
fn finish_backward_sums(@builtin(global_invocation_id) id: vec3<u32>) {
  let channel = id.x;
  if (channel >= params.channels) { return; }
  var bias_total = 0.0;
  var weight_total = 0.0;
  for (var part = 0u; part < params.parts; part++) {
    bias_total += grad_bias[part * params.channels + channel];
    weight_total += grad_weight[part * params.channels + channel];
  }
  grad_bias_total[channel] = bias_total;
  grad_weight_total[channel] = weight_total;
}

// store_backward_sums, and act_slope_partial = the sum of the activation's slope terms.
fn store_backward_sums_act(lane: u32, part: u32, channel: u32, g: f32, g_centred: f32, slope_term: f32, invstd: f32) {
  store_backward_sums(lane, part, channel, g, g_centred, invstd);
  // Lane 0 is still reading the partials the next sum overwrites.
  workgroupBarrier();
  let slope_sum = workgroup_sum(lane, slope_term, 0.0);
  if (lane == 0u) { act_slope_partial[part * params.channels + channel] = slope_sum.x; }
}

// dx = weight * invstd * (g - correction * (sum g + xhat * sum g xhat)), g the gradient at BN's output.
fn input_gradient(index: u32, g: f32, a: Affine, sum_g: f32, sum_g_xhat: f32) -> f32 {
  let xhat = (x[index] - a.mean) * a.invstd;
  return a.scale * (g - params.correction * (sum_g + xhat * sum_g_xhat));
}

@compute @workgroup_size(ELEMENTWISE_THREADS)
fn backward_input(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = span(id, groups, PLANE_GRID);
  let a = channel_affine(s.channel);
  let sum_g = sum_dy[s.channel];
  let sum_g_xhat = sum_dy_xhat[s.channel];
  for (var i = s.first; i < s.end; i += s.step) { out[i] = input_gradient(i, dy[i], a, sum_g, sum_g_xhat); }
}

// BatchNorm followed by a LeakyReLU or PReLU in the same passes (the models' conv -> BN -> act).
// Forward writes only the activation; backward recomputes the pre-activation from x and the saved
// statistics, so neither the BN output nor the activation's own gradient is ever materialised.

// A constant slope comes in params: a LeakyReLU needs no buffer of its own, and no upload a forward.
fn negative_slope() -> f32 {
  if (params.slopeInBuffer != 0u) { return act_slope[0]; }
  return params.slope;
}

// The activation's input gradient: dy where the pre-activation is positive, slope * dy elsewhere.
fn through_activation(dy_value: f32, pre: f32, slope: f32) -> f32 {
  return select(slope * dy_value, dy_value, pre > 0.0);
}

// out = act((x - mean) * invstd * weight + bias)
@compute @workgroup_size(ELEMENTWISE_THREADS)
fn normalize_act(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = span(id, groups, PLANE_GRID);
  let a = channel_affine(s.channel);
  let slope = negative_slope();
  for (var i = s.first; i < s.end; i += s.step) {
    let pre = normalized(i, a);
    out[i] = select(slope * pre, pre, pre > 0.0);
  }
}

// backward_reduce on g = dy * act'(pre), plus act_slope_partial[channel] = sum over pre <= 0 of dy * pre.
@compute @workgroup_size(256)
fn backward_reduce_act(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let channel = group.x;
  let a = channel_affine(channel);
  let slope = negative_slope();
  var g_total = 0.0;
  var g_centred_total = 0.0;
  var slope_total = 0.0;
  let end = part_end(group.y);
  for (var cursor = cursor_start(lane, group.y); cursor.row < end; cursor = cursor_next(cursor)) {
    let index = element_index(cursor, channel);
    let pre = normalized(index, a);
    let dy_value = dy[index];
    let g = through_activation(dy_value, pre, slope);
    g_total += g;
    g_centred_total += g * (x[index] - a.mean);
    slope_total += select(dy_value * pre, 0.0, pre > 0.0);
  }
  store_backward_sums_act(lane, group.y, channel, g_total, g_centred_total, slope_total, a.invstd);
}

// backward_input on g = dy * act'(pre).
@compute @workgroup_size(ELEMENTWISE_THREADS)
fn backward_input_act(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = span(id, groups, PLANE_GRID);
  let a = channel_affine(s.channel);
  let slope = negative_slope();
  let sum_g = sum_dy[s.channel];
  let sum_g_xhat = sum_dy_xhat[s.channel];
  for (var i = s.first; i < s.end; i += s.step) {
    out[i] = input_gradient(i, through_activation(dy[i], normalized(i, a), slope), a, sum_g, sum_g_xhat);
  }
}

// The passes above over vec4s, for planes of a multiple of 4 (each vec4 then lies in one channel;
// engine/ops/batchnorm.ts picks them): on lavapipe every load is a per-lane, bounds-checked access, and
// a vec4 costs about what 3 scalars do (bench/load-costs.ts). The element-wise passes do the same
// arithmetic per element, so forward and backward still agree on every pre-activation's sign; the
// per-channel sums keep 4 partial sums per lane.
@group(0) @binding(17) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(18) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(19) var<storage, read_write> out4: array<vec4<f32>>;

// span() over the tensor's vec4s.
fn span4(id: vec3<u32>, groups: vec3<u32>, plane_grid: bool) -> Span {
  return span_in(id, groups, plane_grid, params.plane / 4u);
}

fn normalized4(index: u32, a: Affine) -> vec4<f32> {
  return (x4[index] - a.mean) * a.scale + a.bias;
}

fn input_gradient4(index: u32, g: vec4<f32>, a: Affine, sum_g: f32, sum_g_xhat: f32) -> vec4<f32> {
  let xhat = (x4[index] - a.mean) * a.invstd;
  return a.scale * (g - params.correction * (sum_g + xhat * sum_g_xhat));
}

fn through_activation4(dy_value: vec4<f32>, pre: vec4<f32>, slope: f32) -> vec4<f32> {
  return select(slope * dy_value, dy_value, pre > vec4<f32>(0.0));
}

@compute @workgroup_size(ELEMENTWISE_THREADS)
fn normalize_vec4(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = span4(id, groups, PLANE_GRID);
  let a = channel_affine(s.channel);
  for (var i = s.first; i < s.end; i += s.step) { out4[i] = normalized4(i, a); }
}

@compute @workgroup_size(ELEMENTWISE_THREADS)
fn backward_input_vec4(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = span4(id, groups, PLANE_GRID);
  let a = channel_affine(s.channel);
  let sum_g = sum_dy[s.channel];
  let sum_g_xhat = sum_dy_xhat[s.channel];
  for (var i = s.first; i < s.end; i += s.step) { out4[i] = input_gradient4(i, dy4[i], a, sum_g, sum_g_xhat); }
}

@compute @workgroup_size(ELEMENTWISE_THREADS)
fn normalize_act_vec4(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = span4(id, groups, PLANE_GRID);
  let a = channel_affine(s.channel);
  let slope = negative_slope();
  for (var i = s.first; i < s.end; i += s.step) {
    let pre = normalized4(i, a);
    out4[i] = select(slope * pre, pre, pre > vec4<f32>(0.0));
  }
}

@compute @workgroup_size(ELEMENTWISE_THREADS)
fn backward_input_act_vec4(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = span4(id, groups, PLANE_GRID);
  let a = channel_affine(s.channel);
  let slope = negative_slope();
  let sum_g = sum_dy[s.channel];
  let sum_g_xhat = sum_dy_xhat[s.channel];
  for (var i = s.first; i < s.end; i += s.step) {
    out4[i] = input_gradient4(i, through_activation4(dy4[i], normalized4(i, a), slope), a, sum_g, sum_g_xhat);
  }
}

// backward_reduce and backward_reduce_act over vec4s: each lane sums vec4s and adds their components
// at the end (both the same way, so the fused and the separate passes still agree bit for bit).
fn quad_index(cursor: Cursor, channel: u32) -> u32 {
  return (cursor.row * params.channels + channel) * (params.plane / 4u) + cursor.column;
}

fn component_sum(v: vec4<f32>) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

@compute @workgroup_size(256)
fn backward_reduce_vec4(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let channel = group.x;
  let mean = saved_stats[channel];
  let invstd = saved_stats[params.channels + channel];
  let quads = params.plane / 4u;
  var dy_total = vec4<f32>(0.0);
  var dy_xhat_total = vec4<f32>(0.0);
  let end = part_end(group.y);
  for (var cursor = cursor_start_in(lane, group.y, quads); cursor.row < end; cursor = cursor_next_in(cursor, quads)) {
    let index = quad_index(cursor, channel);
    dy_total += dy4[index];
    dy_xhat_total += dy4[index] * (x4[index] - mean);
  }
  store_backward_sums(lane, group.y, channel, component_sum(dy_total), component_sum(dy_xhat_total), invstd);
}

@compute @workgroup_size(256)
fn backward_reduce_act_vec4(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let channel = group.x;
  let a = channel_affine(channel);
  let slope = negative_slope();
  let quads = params.plane / 4u;
  var g_total = vec4<f32>(0.0);
  var g_centred_total = vec4<f32>(0.0);
  var slope_total = vec4<f32>(0.0);
  let end = part_end(group.y);
  for (var cursor = cursor_start_in(lane, group.y, quads); cursor.row < end; cursor = cursor_next_in(cursor, quads)) {
    let index = quad_index(cursor, channel);
    let pre = normalized4(index, a);
    let dy_value = dy4[index];
    let g = through_activation4(dy_value, pre, slope);
    g_total += g;
    g_centred_total += g * (x4[index] - a.mean);
    slope_total += select(dy_value * pre, vec4<f32>(0.0), pre > vec4<f32>(0.0));
  }
  store_backward_sums_act(lane, group.y, channel, component_sum(g_total), component_sum(g_centred_total), component_sum(slope_total), a.invstd);
}

// train_statistics over vec4s: the same shifted sums, each lane's in 4 partial sums added at the end.
@compute @workgroup_size(256)
fn train_statistics_vec4(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let channel = group.x;
  let shift = x4[quad_index(Cursor(0u, 0u), channel)].x;
  let quads = params.plane / 4u;
  let end = part_end(group.y);
  var count = 0.0;
  var shifted_sums = vec4<f32>(0.0);
  var shifted_squares = vec4<f32>(0.0);
  for (var cursor = cursor_start_in(lane, group.y, quads); cursor.row < end; cursor = cursor_next_in(cursor, quads)) {
    let shifted = x4[quad_index(cursor, channel)] - shift;
    shifted_sums += shifted;
    shifted_squares += shifted * shifted;
    count += 4.0;
  }
  store_lane_statistics(lane, group.y, channel, count, component_sum(shifted_sums), component_sum(shifted_squares), shift);
}
