// conv_gather.wgsl's strip gather (conv2d and convTranspose2d forwards, and so both grad-inputs)
// with the weights shared through the subgroup instead of loaded by every thread.
//
// Why: on lavapipe every storage-buffer load is per thread, even at an address that all threads of
// the subgroup share (the "uniform" weight loads of conv_gather.wgsl cost 8 scalar loads each, one
// per SIMD lane). Here lane i of each subgroup loads the weight of output channel i (of every block
// of 8 channels), and subgroupBroadcast hands it to the other lanes: one load per weight instead of
// one per weight and thread. It needs subgroups of at least 8 invocations (lavapipe: exactly 8);
// engine/ops/conv-kernels.ts picks it only then. Every thread of the workgroup runs the loops to the
// end, so the broadcasts see all lanes; threads past the output load clamped addresses and store nothing.

enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params {
  batch: u32,
  inChannels: u32,
  inHeight: u32,
  inWidth: u32,
  outChannels: u32,
  outHeight: u32,
  outWidth: u32,
  kernelHeight: u32,
  kernelWidth: u32,
  stride: u32,
  padding: u32,
  transposed: u32,
  hasBias: u32,
  // Output channels of the packed weights (a multiple of 4, see conv_pack_weights.wgsl).
  paddedOutChannels: u32,
}

// x: [N, Cin, H, W]; weights: packed [Cin, kH, kW, paddedOutChannels]; out: [N, Cout, OH, OW].
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

// Output channels per thread: 8 or 16. A thread holds 4 pixels x CHANNELS accumulators.
override CHANNELS: u32 = 16u;
// Strip of input columns loaded per row and input channel (see conv_gather.wgsl's main_strip).
override STRIP_WIDTH: u32 = 10u;
override STRIP_PIXEL_STEP: u32 = 2u;

var<private> acc: array<vec4<f32>, 16>;

// Adds the weights of one tap and input channel for channels block*8 .. block*8+7: lane i of the
// subgroup holds channel i's weight in `w`.
fn accumulate8(channelBlock: u32, w: f32, values: vec4<f32>) {
  acc[channelBlock * 8u + 0u] += subgroupBroadcast(w, 0u) * values;
  acc[channelBlock * 8u + 1u] += subgroupBroadcast(w, 1u) * values;
  acc[channelBlock * 8u + 2u] += subgroupBroadcast(w, 2u) * values;
  acc[channelBlock * 8u + 3u] += subgroupBroadcast(w, 3u) * values;
  acc[channelBlock * 8u + 4u] += subgroupBroadcast(w, 4u) * values;
  acc[channelBlock * 8u + 5u] += subgroupBroadcast(w, 5u) * values;
  acc[channelBlock * 8u + 6u] += subgroupBroadcast(w, 6u) * values;
  acc[channelBlock * 8u + 7u] += subgroupBroadcast(w, 7u) * values;
}

// Number of taps of a kernel line that hit outputs of `phase`, and the first of them (every
// stride-th one for convTranspose2d; all of them for conv2d). Depends only on uniform values.
fn tapCount(phase: i32, kernelSize: i32) -> vec2<i32> {
  if (params.transposed == 0u) { return vec2<i32>(kernelSize, 0); }
  let s = i32(params.stride);
  let first = (phase + i32(params.padding)) % s;
  return vec2<i32>(select(0, (kernelSize - first + s - 1) / s, first < kernelSize), first);
}

// Input line under output line q of `phase` at tap 0 (conv2d: taps run forwards from it;
// convTranspose2d: backwards).
fn tapOrigin(q: i32, phase: i32, first: i32) -> i32 {
  let s = i32(params.stride);
  let p = i32(params.padding);
  if (params.transposed == 0u) { return q * s - p; }
  return q + (phase + p - first) / s;
}

fn phaseLength(size: u32, phase: i32) -> i32 {
  if (params.transposed == 0u) { return i32(size); }
  let s = i32(params.stride);
  return max(0, (i32(size) - phase + s - 1) / s);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  let s = i32(params.stride);
  let transposed = params.transposed != 0u;
  let phaseRow = select(0, i32(group.z) / s, transposed);
  let phaseColumn = select(0, i32(group.z) % s, transposed);
  let rows = phaseLength(params.outHeight, phaseRow);
  let columns = phaseLength(params.outWidth, phaseColumn);
  let quadsPerRow = (columns + 3) / 4;
  let thread = i32(id.x);
  let valid = thread < i32(params.batch) * rows * quadsPerRow;
  // Threads past the end work on the last real position and do not store.
  let clamped = min(thread, max(i32(params.batch) * rows * quadsPerRow - 1, 0));
  let rowIndex = (clamped / quadsPerRow) % rows;
  let n = clamped / (quadsPerRow * rows);
  let column0 = (clamped % quadsPerRow) * 4;

  let rowTaps = tapCount(phaseRow, i32(params.kernelHeight));
  let columnTaps = tapCount(phaseColumn, i32(params.kernelWidth));
  let rowOrigin = tapOrigin(rowIndex, phaseRow, rowTaps.y);
  let columnOrigin = tapOrigin(column0, phaseColumn, columnTaps.y);
  let rowStep = select(1, -1, transposed);
  let kernelStep = select(1, s, transposed);
  let count = columnTaps.x;
  let stripStart = select(columnOrigin, columnOrigin - (count - 1), transposed);

  let height = i32(params.inHeight);
  let width = i32(params.inWidth);
  let inPlane = u32(height * width);
  let batchStart = u32(n) * params.inChannels * inPlane;
  let kernelWidth = i32(params.kernelWidth);
  let padded = params.paddedOutChannels;
  let weightChannelStride = params.kernelHeight * params.kernelWidth * padded;
  // Lane i loads output channel channelBase + i (+ 8 for the second block).
  let channelBase = group.y * CHANNELS;
  let laneChannel = channelBase + (lane % 8u);
  let lastWeight = arrayLength(&weights) - 1u;

  for (var jy = 0; jy < rowTaps.x; jy++) {
    let inRow = rowOrigin + rowStep * jy;
    let rowInside = inRow >= 0 && inRow < height;
    let ky = rowTaps.y + kernelStep * jy;
    let rowAddress = batchStart + u32(select(0, inRow, rowInside) * width);
    var weightRow = u32(ky * kernelWidth) * padded;
    var channelOffset = 0u;
    for (var ci = 0u; ci < params.inChannels; ci++) {
      var strip: array<f32, 16>;
      for (var t = 0u; t < STRIP_WIDTH; t++) {
        let column = stripStart + i32(t);
        let inside = rowInside && column >= 0 && column < width;
        strip[t] = select(0.0, x[rowAddress + channelOffset + u32(select(0, column, inside))], inside);
      }
      for (var t = 0u; t < STRIP_WIDTH - 3u * STRIP_PIXEL_STEP; t++) {
        // Strip offset t is tap j = t for conv2d and j = count - 1 - t for convTranspose2d.
        let j = select(i32(t), count - 1 - i32(t), transposed);
        if (j < 0 || j >= count) { continue; }
        let kx = columnTaps.y + kernelStep * j;
        let values = vec4<f32>(strip[t], strip[t + STRIP_PIXEL_STEP], strip[t + 2u * STRIP_PIXEL_STEP], strip[t + 3u * STRIP_PIXEL_STEP]);
        let tapRow = weightRow + u32(kx) * padded;
        let w0 = select(0.0, weights[min(tapRow + laneChannel, lastWeight)], laneChannel < padded);
        accumulate8(0u, w0, values);
        if (CHANNELS == 16u) {
          let w1 = select(0.0, weights[min(tapRow + laneChannel + 8u, lastWeight)], laneChannel + 8u < padded);
          accumulate8(1u, w1, values);
        }
      }
      weightRow += weightChannelStride;
      channelOffset += inPlane;
    }
  }
  if (!valid) { return; }

  let outPlane = params.outHeight * params.outWidth;
  let outRow = u32(select(rowIndex, phaseRow + s * rowIndex, transposed));
  let columnStep = select(1, s, transposed);
  let columnStart = select(column0, phaseColumn + s * column0, transposed);
  let accumulators = acc;
  for (var i = 0; i < 4; i++) {
    if (column0 + i >= columns) { break; }
    let outColumn = u32(columnStart + columnStep * i);
    for (var k = 0u; k < CHANNELS; k++) {
      let co = channelBase + k;
      if (co >= params.outChannels) { break; }
      var value = accumulators[k][i];
      if (params.hasBias != 0u) { value += bias[co]; }
      out[(u32(n) * params.outChannels + co) * outPlane + outRow * params.outWidth + outColumn] = value;
    }
  }
}
