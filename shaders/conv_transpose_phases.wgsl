// convTranspose2d with a 4x4 kernel, stride 2 and padding 1 (the DCGAN upsampling) to a few output
// channels: G4's 64 -> 1 forward and D1's grad-input. conv_gather_subgroup.wgsl's main_pixels treats
// each of the four output phases (oy mod 2, ox mod 2) as its own convolution, so the input values
// under a pixel are loaded once per phase. Here one thread computes all four: output rows 2r and
// 2r+1, columns 2q .. 2q+2*PIXELS-1 for q = q0 .. q0+PIXELS-1, which read only input rows r-1, r, r+1
// and columns q0-1 .. q0+PIXELS. Per input channel that is 3 x (PIXELS + 2) loads for 16 * PIXELS
// multiply-adds, against 18 loads for 32 in main_pixels; per-thread loads are what lavapipe pays for.
//
// Output o = 2i - 1 + k, so output row 2r + a takes input row r + d at kernel row 1 + a - 2d:
// a = 0 from rows r-1 (ky 3) and r (ky 1), a = 1 from rows r (ky 2) and r+1 (ky 0); columns alike.
//
// Weights go through the subgroup as in conv_gather_subgroup.wgsl: lane i loads the 16 taps of input
// channel c0 + i, and subgroupShuffle(w, k) gives every lane channel c0 + k's. Every thread runs the
// loops to the end (threads past the output work on the last position and store nothing).

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
  paddedOutChannels: u32,
}

// x: [N, Cin, H, W]; weights: packed [Cin, 4, 4, paddedOutChannels]; out: [N, Cout, 2H, 2W].
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

// Input columns per thread (each gives 2 x 2 outputs); the strips hold PIXELS + 2 columns.
override PIXELS: u32 = 8u;

// [output row a][output column 2i + b]
var<private> acc: array<array<f32, 32>, 2>;

// Input row `row` of the thread's strip: columns q0-1 .. q0+PIXELS of one channel, zero outside.
fn loadStrip(channelStart: u32, row: i32, q0: i32) -> array<f32, 18> {
  var strip: array<f32, 18>;
  let width = i32(params.inWidth);
  let rowInside = row >= 0 && row < i32(params.inHeight);
  let rowStart = channelStart + u32(select(0, row, rowInside) * width);
  for (var j = 0u; j < PIXELS + 2u; j++) {
    let column = q0 - 1 + i32(j);
    let inside = rowInside && column >= 0 && column < width;
    strip[j] = select(0.0, x[rowStart + u32(select(0, column, inside))], inside);
  }
  return strip;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  let height = i32(params.inHeight);
  let width = i32(params.inWidth);
  let blocks = (width + i32(PIXELS) - 1) / i32(PIXELS);
  let threads = i32(params.batch) * height * blocks;
  let thread = min(i32(id.x), threads - 1);
  let q0 = (thread % blocks) * i32(PIXELS);
  let r = (thread / blocks) % height;
  let n = thread / (blocks * height);
  let co = group.y;
  let inPlane = params.inHeight * params.inWidth;
  let batchStart = u32(n) * params.inChannels * inPlane;
  let lastWeight = arrayLength(&weights) - 1u;

  for (var c0 = 0u; c0 < params.inChannels; c0 += 8u) {
    let laneInput = c0 + lane % 8u;
    var laneWeights: array<f32, 16>;
    for (var tap = 0u; tap < 16u; tap++) {
      let index = (laneInput * 16u + tap) * params.paddedOutChannels + co;
      laneWeights[tap] = select(0.0, weights[min(index, lastWeight)], laneInput < params.inChannels);
    }
    for (var k = 0u; k < 8u; k++) {
      // Channels past the last have zero weights; their loads read the last channel.
      let channelStart = batchStart + min(c0 + k, params.inChannels - 1u) * inPlane;
      let above = loadStrip(channelStart, r - 1, q0);
      let middle = loadStrip(channelStart, r, q0);
      let below = loadStrip(channelStart, r + 1, q0);
      var w: array<f32, 16>;
      for (var tap = 0u; tap < 16u; tap++) { w[tap] = subgroupShuffle(laneWeights[tap], k); }
      // Strip index i + e + 1 is input column q0 + i + e; tap index ky * 4 + kx.
      for (var i = 0u; i < PIXELS; i++) {
        acc[0][2u * i] += w[15] * above[i] + w[13] * above[i + 1u] + w[7] * middle[i] + w[5] * middle[i + 1u];
        acc[0][2u * i + 1u] += w[14] * above[i + 1u] + w[12] * above[i + 2u] + w[6] * middle[i + 1u] + w[4] * middle[i + 2u];
        acc[1][2u * i] += w[11] * middle[i] + w[9] * middle[i + 1u] + w[3] * below[i] + w[1] * below[i + 1u];
        acc[1][2u * i + 1u] += w[10] * middle[i + 1u] + w[8] * middle[i + 2u] + w[2] * below[i + 1u] + w[0] * below[i + 2u];
      }
    }
  }
  if (i32(id.x) >= threads) { return; }

  let sums = acc;
  let outPlane = params.outHeight * params.outWidth;
  let outStart = (u32(n) * params.outChannels + co) * outPlane;
  let biasValue = select(0.0, bias[co], params.hasBias != 0u);
  for (var a = 0u; a < 2u; a++) {
    let outRow = u32(2 * r) + a;
    for (var column = 0u; column < 2u * PIXELS; column++) {
      let outColumn = u32(2 * q0) + column;
      if (outColumn >= params.outWidth) { break; }
      out[outStart + outRow * params.outWidth + outColumn] = sums[a][column] + biasValue;
    }
  }
}
