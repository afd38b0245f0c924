// Implicit-GEMM gather for conv2d and convTranspose2d forwards (and so for both grad-inputs, which
// are the other op's forward). Each thread computes 4 * CHANNEL_QUADS output channels x 4 output
// pixels of one row; the channel block is fixed per workgroup so the weight load is uniform (a
// broadcast on lavapipe), and the tap loops sit outside the input-channel loop so bounds checks are
// paid once per tap.
//
// convTranspose2d with stride s is decomposed into s*s output phases (workgroup z): the pixels of a
// phase (oy mod s, ox mod s) are hit only by the taps ky = phaseRow + s*j, so no tap is wasted.
//
// Two entry points: `main` gathers the thread's 4 inputs afresh for every tap; `main_strip` loads,
// per input row and channel, the strip of input columns that all the row's taps of the 4 pixels
// touch (3 * pixel step + taps columns: 6 instead of 12 for k3s1, 10 instead of 16 for k4s2, 5
// instead of 8 for a k4s2 convT phase), since per-thread (non-uniform) loads are lavapipe's costly
// part. It needs the strip to fit STRIP_WIDTH.

// #include conv_gather_params

// x: [N, Cin, H, W]; weights: packed [Cin, kH, kW, paddedOutChannels / 4] vec4 (see pack_weights);
// out: [N, Cout, OH, OW].
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

// epilogue(value, slope): the activation fused into the store (ACTIVATION, a pipeline constant).
// #include conv_epilogue

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

// Output channels per thread, in fours: 1, 2 or 4. More channels mean fewer input gathers per
// multiply-add (the weight loads are uniform, so nearly free) but more registers; see
// engine/ops/conv-kernels.ts for which layers get which.
override CHANNEL_QUADS: u32 = 2u;

// The thread's accumulators: [channel quad * 4 + pixel], each 4 output channels. Only constant
// indices are used, so they live in registers.
var<private> acc: array<vec4<f32>, 16>;

// Adds one input channel at one tap: `values` are the inputs under the thread's 4 pixels.
fn accumulate(weightIndex: u32, values: vec4<f32>) {
  let w = weights[weightIndex];
  acc[0] += w * values.x;
  acc[1] += w * values.y;
  acc[2] += w * values.z;
  acc[3] += w * values.w;
  if (CHANNEL_QUADS >= 2u) {
    let w2 = weights[weightIndex + 1u];
    acc[4] += w2 * values.x;
    acc[5] += w2 * values.y;
    acc[6] += w2 * values.z;
    acc[7] += w2 * values.w;
  }
  if (CHANNEL_QUADS == 4u) {
    let w3 = weights[weightIndex + 2u];
    acc[8] += w3 * values.x;
    acc[9] += w3 * values.y;
    acc[10] += w3 * values.z;
    acc[11] += w3 * values.w;
    let w4 = weights[weightIndex + 3u];
    acc[12] += w4 * values.x;
    acc[13] += w4 * values.y;
    acc[14] += w4 * values.z;
    acc[15] += w4 * values.w;
  }
}

// Where a thread works: image n, output row rowIndex and columns column0..column0+3 of its phase.
struct Position {
  valid: bool,
  n: i32,
  rowIndex: i32,
  column0: i32,
  columns: i32,
  phaseRow: i32,
  phaseColumn: i32,
  rowLine: TapLine,
  columnLine: TapLine,
  // Pixels of a quad are pixelStep apart in the input: stride for conv2d, 1 within a convT phase.
  pixelStep: i32,
  channelQuads: u32,
  channelQuad: u32,
  batchStart: i32,
}

fn position(id: vec3<u32>, group: vec3<u32>) -> Position {
  var at: Position;
  let s = i32(params.stride);
  at.phaseRow = i32(group.z) / s;
  at.phaseColumn = i32(group.z) % s;
  let rows = phaseLength(params.outHeight, at.phaseRow);
  at.columns = phaseLength(params.outWidth, at.phaseColumn);
  let quadsPerRow = (at.columns + 3) / 4;
  let thread = i32(id.x);
  at.valid = thread < i32(params.batch) * rows * quadsPerRow;
  at.rowIndex = (thread / quadsPerRow) % rows;
  at.n = thread / (quadsPerRow * rows);
  at.column0 = (thread % quadsPerRow) * 4;
  at.rowLine = tapLine(at.rowIndex, at.phaseRow, i32(params.kernelHeight));
  at.columnLine = tapLine(at.column0, at.phaseColumn, i32(params.kernelWidth));
  at.pixelStep = select(1, s, params.transposed == 0u);
  at.channelQuads = params.paddedOutChannels / 4u;
  at.channelQuad = group.y * CHANNEL_QUADS;
  at.batchStart = at.n * i32(params.inChannels * params.inHeight * params.inWidth);
  return at;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
  let at = position(id, group);
  if (!at.valid) { return; }
  let height = i32(params.inHeight);
  let width = i32(params.inWidth);
  let inPlane = u32(height * width);
  let kernelWidth = i32(params.kernelWidth);
  let weightChannelStride = params.kernelHeight * params.kernelWidth * at.channelQuads;
  for (var jy = 0; jy < at.rowLine.count; jy++) {
    let inRow = at.rowLine.origin + at.rowLine.tapStep * jy;
    if (inRow < 0 || inRow >= height) { continue; }
    let ky = at.rowLine.first + at.rowLine.kernelStep * jy;
    for (var jx = 0; jx < at.columnLine.count; jx++) {
      let kx = at.columnLine.first + at.columnLine.kernelStep * jx;
      let c0 = at.columnLine.origin + at.columnLine.tapStep * jx;
      let c = vec4<i32>(c0, c0 + at.pixelStep, c0 + 2 * at.pixelStep, c0 + 3 * at.pixelStep);
      let inside = (c >= vec4<i32>(0)) & (c < vec4<i32>(width));
      // Outside columns read a clamped address and are multiplied by zero.
      let mask = select(vec4<f32>(0.0), vec4<f32>(1.0), inside);
      let address = vec4<u32>(at.batchStart + inRow * width + select(vec4<i32>(0), c, inside));
      var weightIndex = u32(ky * kernelWidth + kx) * at.channelQuads + at.channelQuad;
      var channelOffset = 0u;
      for (var ci = 0u; ci < params.inChannels; ci++) {
        let values = vec4<f32>(x[address.x + channelOffset], x[address.y + channelOffset], x[address.z + channelOffset], x[address.w + channelOffset]) * mask;
        accumulate(weightIndex, values);
        weightIndex += weightChannelStride;
        channelOffset += inPlane;
      }
    }
  }
  store(at);
}

// Columns of the strip: 3 * pixel step + the most column taps of a phase, at most 16.
override STRIP_WIDTH: u32 = 10u;
// Pixel step of the strip path (stride for conv2d, 1 for convTranspose2d), fixed per pipeline so
// that every strip index is a constant and the strip lives in registers.
override STRIP_PIXEL_STEP: u32 = 2u;

// Strip column of pixel i at the j-th tap of the line: taps run along the strip for conv2d
// (input = origin + s*i + j) and against it for convTranspose2d (input = origin + i - j), so the
// convT taps are visited last-first and column = stripStart + i + (count - 1 - j).
fn stripValues(strip: array<f32, 16>, t: u32) -> vec4<f32> {
  return vec4<f32>(strip[t], strip[t + STRIP_PIXEL_STEP], strip[t + 2u * STRIP_PIXEL_STEP], strip[t + 3u * STRIP_PIXEL_STEP]);
}

@compute @workgroup_size(64)
fn main_strip(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
  let at = position(id, group);
  if (!at.valid) { return; }
  let height = i32(params.inHeight);
  let width = i32(params.inWidth);
  let inPlane = u32(height * width);
  let kernelWidth = i32(params.kernelWidth);
  let weightChannelStride = params.kernelHeight * params.kernelWidth * at.channelQuads;
  let transposed = params.transposed != 0u;
  let count = at.columnLine.count;
  let stripStart = select(at.columnLine.origin, at.columnLine.origin - (count - 1), transposed);
  for (var jy = 0; jy < at.rowLine.count; jy++) {
    // No `continue` for rows outside the input: a per-thread branch in this loop would make lavapipe
    // treat ky, and so the weight address, as per-thread (a gather instead of one broadcast load).
    let inRow = at.rowLine.origin + at.rowLine.tapStep * jy;
    let rowInside = inRow >= 0 && inRow < height;
    let ky = at.rowLine.first + at.rowLine.kernelStep * jy;
    let rowAddress = u32(at.batchStart + select(0, inRow, rowInside) * width);
    var weightRow = u32(ky * kernelWidth) * at.channelQuads + at.channelQuad;
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
        let kx = at.columnLine.first + at.columnLine.kernelStep * j;
        accumulate(weightRow + u32(kx) * at.channelQuads, stripValues(strip, t));
      }
      weightRow += weightChannelStride;
      channelOffset += inPlane;
    }
  }
  store(at);
}

// Writes the accumulators (plus bias) to the thread's output pixels of its channel block.
fn store(at: Position) {
  let s = i32(params.stride);
  let outPlane = params.outHeight * params.outWidth;
  let outRow = u32(select(at.rowIndex, at.phaseRow + s * at.rowIndex, params.transposed != 0u));
  let columnStep = select(1, s, params.transposed != 0u);
  let columnStart = select(at.column0, at.phaseColumn + s * at.column0, params.transposed != 0u);
  // A copy, so that the dynamic indexing below does not push `acc` itself out of registers.
  let accumulators = acc;
  let slope = epilogueSlope();
  for (var i = 0; i < 4; i++) {
    if (at.column0 + i >= at.columns) { break; }
    let outColumn = u32(columnStart + columnStep * i);
    for (var k = 0u; k < 4u * CHANNEL_QUADS; k++) {
      let co = at.channelQuad * 4u + k;
      if (co >= params.outChannels) { break; }
      var value = accumulators[i + 4 * i32(k / 4u)][k % 4u];
      if (params.hasBias != 0u) { value += bias[co]; }
      out[(u32(at.n) * params.outChannels + co) * outPlane + outRow * params.outWidth + outColumn] = epilogue(value, slope);
    }
  }
}
