// Implicit-GEMM gather for conv2d and convTranspose2d forwards (and so for both grad-inputs, which
// are the other op's forward). Each thread computes 4 output channels x 4 output pixels of one row;
// the channel block is fixed per workgroup so the weight load is uniform (a broadcast on lavapipe),
// and the tap loops sit outside the input-channel loop so bounds checks are paid once per tap.
//
// convTranspose2d with stride s is decomposed into s*s output phases (workgroup z): the pixels of a
// phase (oy mod s, ox mod s) are hit only by the taps ky = phaseRow + s*j, so no tap is wasted.

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
}

// x: [N, Cin, H, W]; weights: packed [Cin, kH, kW, ceil(Cout/4)] vec4 (see pack_weights);
// out: [N, Cout, OH, OW].
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

// Where the taps of one output row (or column) read the input: input = origin + tapStep * j for the
// j-th tap, which is kernel index first + kernelStep * j; `count` taps in all.
struct TapLine {
  origin: i32,
  tapStep: i32,
  first: i32,
  kernelStep: i32,
  count: i32,
}

// Output line `q` of the phase `phase` (0 for conv2d).
fn tapLine(q: i32, phase: i32, kernelSize: i32) -> TapLine {
  let s = i32(params.stride);
  let p = i32(params.padding);
  if (params.transposed == 0u) {
    return TapLine(q * s - p, 1, 0, 1, kernelSize);
  }
  // Output o = phase + s*q is hit by input i with i*s - p + k = o, i.e. k = (phase + p) mod s + s*j
  // and i = q + (phase + p - k0) / s - j.
  let first = (phase + p) % s;
  let count = select(0, (kernelSize - first + s - 1) / s, first < kernelSize);
  return TapLine(q + (phase + p - first) / s, -1, first, s, count);
}

// Number of outputs of a line in the phase: every s-th one for convTranspose2d.
fn phaseLength(size: u32, phase: i32) -> i32 {
  if (params.transposed == 0u) { return i32(size); }
  let s = i32(params.stride);
  return max(0, (i32(size) - phase + s - 1) / s);
}

// 2: each thread computes 8 output channels (two vec4 weight loads per step, fewer input loads per
// multiply-add); 1: 4 channels, for layers with few output channels.
override CHANNEL_QUADS: u32 = 2u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
  let s = i32(params.stride);
  let phaseRow = i32(group.z) / s;
  let phaseColumn = i32(group.z) % s;
  let rows = phaseLength(params.outHeight, phaseRow);
  let columns = phaseLength(params.outWidth, phaseColumn);
  let quadsPerRow = (columns + 3) / 4;
  let thread = i32(id.x);
  if (thread >= i32(params.batch) * rows * quadsPerRow) { return; }
  let quad = thread % quadsPerRow;
  let rowIndex = (thread / quadsPerRow) % rows;
  let n = thread / (quadsPerRow * rows);
  let column0 = quad * 4;
  let rowLine = tapLine(rowIndex, phaseRow, i32(params.kernelHeight));
  // Pixels of a quad are pixelStep apart in the input: stride for conv2d, 1 within a convT phase.
  let pixelStep = select(1, s, params.transposed == 0u);
  let columnLine = tapLine(column0, phaseColumn, i32(params.kernelWidth));

  let height = i32(params.inHeight);
  let width = i32(params.inWidth);
  let inPlane = height * width;
  let channelQuads = (params.outChannels + 4u * CHANNEL_QUADS - 1u) / (4u * CHANNEL_QUADS) * CHANNEL_QUADS;
  let channelQuad = group.y * CHANNEL_QUADS;
  let kernelWidth = i32(params.kernelWidth);
  let taps = i32(params.kernelHeight) * kernelWidth;
  let weightChannelStride = u32(taps) * channelQuads;
  let batchStart = n * i32(params.inChannels) * inPlane;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var second0 = vec4<f32>(0.0);
  var second1 = vec4<f32>(0.0);
  var second2 = vec4<f32>(0.0);
  var second3 = vec4<f32>(0.0);
  for (var jy = 0; jy < rowLine.count; jy++) {
    let inRow = rowLine.origin + rowLine.tapStep * jy;
    if (inRow < 0 || inRow >= height) { continue; }
    let ky = rowLine.first + rowLine.kernelStep * jy;
    for (var jx = 0; jx < columnLine.count; jx++) {
      let kx = columnLine.first + columnLine.kernelStep * jx;
      let c0 = columnLine.origin + columnLine.tapStep * jx;
      let c = vec4<i32>(c0, c0 + pixelStep, c0 + 2 * pixelStep, c0 + 3 * pixelStep);
      let inside = (c >= vec4<i32>(0)) & (c < vec4<i32>(width));
      // Outside columns read a clamped address and are multiplied by zero.
      let mask = select(vec4<f32>(0.0), vec4<f32>(1.0), inside);
      let address = vec4<u32>(batchStart + inRow * width + select(vec4<i32>(0), c, inside));
      var weightIndex = u32(ky * kernelWidth + kx) * channelQuads + channelQuad;
      var channelOffset = 0u;
      for (var ci = 0u; ci < params.inChannels; ci++) {
        let w = weights[weightIndex];
        let values = vec4<f32>(x[address.x + channelOffset], x[address.y + channelOffset], x[address.z + channelOffset], x[address.w + channelOffset]) * mask;
        acc0 += w * values.x;
        acc1 += w * values.y;
        acc2 += w * values.z;
        acc3 += w * values.w;
        if (CHANNEL_QUADS == 2u) {
          let w2 = weights[weightIndex + 1u];
          second0 += w2 * values.x;
          second1 += w2 * values.y;
          second2 += w2 * values.z;
          second3 += w2 * values.w;
        }
        weightIndex += weightChannelStride;
        channelOffset += u32(inPlane);
      }
    }
  }

  let outPlane = params.outHeight * params.outWidth;
  let outRow = u32(select(rowIndex, phaseRow + s * rowIndex, params.transposed != 0u));
  let columnStep = select(1, s, params.transposed != 0u);
  let columnStart = select(column0, phaseColumn + s * column0, params.transposed != 0u);
  let accumulators = array<vec4<f32>, 8>(acc0, acc1, acc2, acc3, second0, second1, second2, second3);
  for (var i = 0; i < 4; i++) {
    if (column0 + i >= columns) { break; }
    let outColumn = u32(columnStart + columnStep * i);
    for (var k = 0u; k < 4u * CHANNEL_QUADS; k++) {
      let co = channelQuad * 4u + k;
      if (co >= params.outChannels) { break; }
      var value = accumulators[i + 4 * i32(k / 4u)][k % 4u];
      if (params.hasBias != 0u) { value += bias[co]; }
      out[(u32(n) * params.outChannels + co) * outPlane + outRow * params.outWidth + outColumn] = value;
    }
  }
}
