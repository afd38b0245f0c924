// Weight gradient shared by conv2d and convTranspose2d, as an implicit GEMM whose reduction axis
// (batch x gradient rows x columns) is split into chunks, one per workgroup z, each writing a
// partial sum; `reduce_chunks` adds the partials. With G the "gathering" side [N, A, GH, GW] and X
// the window side [N, B, XH, XW]:
//   dW[a, b, ky, kx] = sum over n, gy, gx of G[n, a, gy, gx] * X[n, b, gy*s - p + ky, gx*s - p + kx].
// conv2d: G = dy, X = x, dW is [Cout, Cin, kH, kW]. convTranspose2d: G = x, X = dy, dW is [Cin, Cout, kH, kW].
// Each thread owns 4 * A_QUADS a x 4 b at one tap; a is fixed per workgroup so G loads are uniform.

// #include conv_grad_weight_params

@group(0) @binding(0) var<storage, read> gradient: array<f32>;
@group(0) @binding(1) var<storage, read> input: array<f32>;
// partial: [chunks, A, B, kH, kW]
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read> partialSums: array<f32>;
@group(0) @binding(5) var<storage, read_write> result: array<f32>;

// a per thread, in fours: 1, 2 or 4 (more multiply-adds per input gather, more registers).
override A_QUADS: u32 = 4u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
  let taps = params.kernelHeight * params.kernelWidth;
  let tap = id.x % taps;
  let b0 = (id.x / taps) * 4u;
  if (b0 >= params.inChannels) { return; }
  let a0 = group.y * 4u * A_QUADS;
  let s = i32(params.stride);
  let p = i32(params.padding);
  let ky = i32(tap / params.kernelWidth);
  let kx = i32(tap % params.kernelWidth);
  let gradPlane = params.gradHeight * params.gradWidth;
  let inPlane = params.inHeight * params.inWidth;
  // Channels past the end read the last one and are never written back.
  let lastA = params.gradChannels - 1u;
  let lastB = params.inChannels - 1u;
  let gradOffsets = vec4<u32>(min(a0, lastA), min(a0 + 1u, lastA), min(a0 + 2u, lastA), min(a0 + 3u, lastA)) * gradPlane;
  let gradOffsets2 = vec4<u32>(min(a0 + 4u, lastA), min(a0 + 5u, lastA), min(a0 + 6u, lastA), min(a0 + 7u, lastA)) * gradPlane;
  let gradOffsets3 = vec4<u32>(min(a0 + 8u, lastA), min(a0 + 9u, lastA), min(a0 + 10u, lastA), min(a0 + 11u, lastA)) * gradPlane;
  let gradOffsets4 = vec4<u32>(min(a0 + 12u, lastA), min(a0 + 13u, lastA), min(a0 + 14u, lastA), min(a0 + 15u, lastA)) * gradPlane;
  let inOffsets = vec4<u32>(b0, min(b0 + 1u, lastB), min(b0 + 2u, lastB), min(b0 + 3u, lastB)) * inPlane;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  var acc8 = vec4<f32>(0.0);
  var acc9 = vec4<f32>(0.0);
  var acc10 = vec4<f32>(0.0);
  var acc11 = vec4<f32>(0.0);
  var acc12 = vec4<f32>(0.0);
  var acc13 = vec4<f32>(0.0);
  var acc14 = vec4<f32>(0.0);
  var acc15 = vec4<f32>(0.0);
  let rowStart = group.z * params.rowsPerChunk;
  let rowEnd = min(rowStart + params.rowsPerChunk, params.batch * params.gradHeight);
  for (var row = rowStart; row < rowEnd; row++) {
    let n = row / params.gradHeight;
    let gy = row % params.gradHeight;
    let iy = i32(gy) * s - p + ky;
    if (iy < 0 || iy >= i32(params.inHeight)) { continue; }
    let gradRowOffset = n * params.gradChannels * gradPlane + gy * params.gradWidth;
    let gradRow = gradOffsets + gradRowOffset;
    let gradRow2 = gradOffsets2 + gradRowOffset;
    let gradRow3 = gradOffsets3 + gradRowOffset;
    let gradRow4 = gradOffsets4 + gradRowOffset;
    let inRow = inOffsets + (n * params.inChannels * inPlane + u32(iy) * params.inWidth);
    var ix = kx - p;
    for (var gx = 0u; gx < params.gradWidth; gx++) {
      let inside = ix >= 0 && ix < i32(params.inWidth);
      let column = u32(select(0, ix, inside));
      let g = vec4<f32>(gradient[gradRow.x + gx], gradient[gradRow.y + gx], gradient[gradRow.z + gx], gradient[gradRow.w + gx]);
      let v = vec4<f32>(input[inRow.x + column], input[inRow.y + column], input[inRow.z + column], input[inRow.w + column])
        * select(0.0, 1.0, inside);
      acc0 += g.x * v;
      acc1 += g.y * v;
      acc2 += g.z * v;
      acc3 += g.w * v;
      if (A_QUADS >= 2u) {
        let h = vec4<f32>(gradient[gradRow2.x + gx], gradient[gradRow2.y + gx], gradient[gradRow2.z + gx], gradient[gradRow2.w + gx]);
        acc4 += h.x * v;
        acc5 += h.y * v;
        acc6 += h.z * v;
        acc7 += h.w * v;
      }
      if (A_QUADS == 4u) {
        let h3 = vec4<f32>(gradient[gradRow3.x + gx], gradient[gradRow3.y + gx], gradient[gradRow3.z + gx], gradient[gradRow3.w + gx]);
        acc8 += h3.x * v;
        acc9 += h3.y * v;
        acc10 += h3.z * v;
        acc11 += h3.w * v;
        let h4 = vec4<f32>(gradient[gradRow4.x + gx], gradient[gradRow4.y + gx], gradient[gradRow4.z + gx], gradient[gradRow4.w + gx]);
        acc12 += h4.x * v;
        acc13 += h4.y * v;
        acc14 += h4.z * v;
        acc15 += h4.w * v;
      }
      ix += s;
    }
  }

  let accumulators = array<vec4<f32>, 16>(
    acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7, acc8, acc9, acc10, acc11, acc12, acc13, acc14, acc15,
  );
  let chunkStart = group.z * params.gradChannels * params.inChannels * taps;
  for (var i = 0u; i < 4u * A_QUADS; i++) {
    let a = a0 + i;
    if (a >= params.gradChannels) { break; }
    for (var j = 0u; j < 4u; j++) {
      let b = b0 + j;
      if (b >= params.inChannels) { break; }
      partial[chunkStart + (a * params.inChannels + b) * taps + tap] = accumulators[i][j];
    }
  }
}

// The partials were computed with the two sides swapped (engine/ops/conv-kernels.ts weightGradSwap):
// result [B, A, kH, kW] takes partial [a, b] with its taps reversed.
override FLIPPED: bool = false;

// result[i] = sum over chunks of partialSums[chunk, i] (FLIPPED: of the swapped, reversed entry).
@compute @workgroup_size(256)
fn reduce_chunks(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = id.x + id.y * groups.x * 256u;
  let taps = params.kernelHeight * params.kernelWidth;
  let count = params.gradChannels * params.inChannels * taps;
  if (i >= count) { return; }
  var source = i;
  if (FLIPPED) {
    let tap = i % taps;
    let a = (i / taps) % params.gradChannels;
    let b = i / (taps * params.gradChannels);
    source = (a * params.inChannels + b) * taps + taps - 1u - tap;
  }
  var total = 0.0;
  for (var chunk = 0u; chunk < params.chunks; chunk++) { total += partialSums[chunk * count + source]; }
  result[i] = total;
}
