// conv_grad_weight.wgsl's weight gradient with the gradient values shared through the subgroup.
// Every thread of a workgroup needs the same G[n, a0..a0+15, gy, gx] (a is fixed per workgroup),
// and on lavapipe each thread would load all 16 itself (storage loads are per SIMD lane even at a
// shared address). Here lane i loads channels a0+i and a0+8+i, and subgroupShuffle(value, k) hands
// lane k's to every lane (k is a constant once the loop is unrolled: one vpermd on lavapipe): 2 loads
// per column instead of 16. Needs subgroups of at least 8 invocations; every thread runs the loops to
// the end (rows outside the input are masked, not skipped), so the shuffles see all lanes. Same
// bindings and partial-sum layout as conv_grad_weight.wgsl's `main`, whose `reduce_chunks` adds the
// chunks.

enable subgroups;
diagnostic(off, subgroup_uniformity);

// #include conv_grad_weight_params

@group(0) @binding(0) var<storage, read> gradient: array<f32>;
@group(0) @binding(1) var<storage, read> input: array<f32>;
// partial: [chunks, A, B, kH, kW]
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
// The same buffer as gradient, for the aligned loads of main_rows (GRADIENT_VEC4) and main_taps.
@group(0) @binding(4) var<storage, read> gradient4: array<vec4<f32>>;

// a per workgroup: 8, 16 or 32 (banks of 8, one per lane of the subgroup).
override A_CHANNELS: u32 = 16u;
// Layers with few input channels (taps x b-quads of 8, 16 or 24 threads' worth) would leave most of a
// workgroup idle: ROW_SPLIT groups of lanes then take every ROW_SPLIT-th row each, and add their sums
// through workgroup memory at the end (1, 2 or 4; the lanes of one group are whole subgroups).
override ROW_SPLIT: u32 = 1u;
// Gradient columns summed per accumulator update: on lavapipe each update of an accumulator is a
// reload, an add, an execution-mask blend and a store (64 accumulators do not fit in registers), so
// forming the 4 columns' sum first cuts that to a quarter (bench/RESULTS.md).
const COLUMNS = 4u;

// The sums of row groups 1..ROW_SPLIT-1: [group - 1][lane in group][a], at most 3 x 16 lanes x 16 a or
// 1 x 32 lanes x 32 a (16 KiB, WebGPU's default limit; engine/ops/conv-kernels.ts keeps to it).
var<workgroup> splitSums: array<vec4<f32>, 1024>;

// Accumulators [a][b quad]: 4 b per a.
var<private> acc: array<vec4<f32>, 32>;

// Where lane i's gradient channel of each bank starts: channels a0 + i, a0 + 8 + i, ... (channels past
// the end read the last one and are never written back).
fn laneChannelOffsets(a0: u32, lane: u32, plane: u32) -> vec4<u32> {
  let last = params.gradChannels - 1u;
  let i = lane % 8u;
  return vec4<u32>(min(a0 + i, last), min(a0 + 8u + i, last), min(a0 + 16u + i, last), min(a0 + 24u + i, last)) * plane;
}

// Where the input channels b0 .. b0 + 3 start (past the end: the last one, never written back).
fn quadOffsets(b0: u32, plane: u32) -> vec4<u32> {
  let last = params.inChannels - 1u;
  return vec4<u32>(min(b0, last), min(b0 + 1u, last), min(b0 + 2u, last), min(b0 + 3u, last)) * plane;
}

// Lane i's G[a_i] at the COLUMNS columns from gx0 of `gradRow` (its channel's row), zero past the row's end.
fn laneGradients(gradRow: u32, gx0: u32) -> array<f32, 4> {
  var laneGrads: array<f32, 4>;
  for (var c = 0u; c < COLUMNS; c++) {
    let gx = gx0 + c;
    laneGrads[c] = select(0.0, gradient[gradRow + min(gx, params.gradWidth - 1u)], gx < params.gradWidth);
  }
  return laneGrads;
}

// Adds, for the 8 channels a of one bank (accumulators 8 * bank ..), the sum over a group of COLUMNS
// columns, per b of the quad (lane i loads channel a_i's gradients from `gradRow`), each sum as soon as
// it is formed: a bank of sums held until the end is what lavapipe spills to the stack.
fn addBankSums(gradRow: u32, gx0: u32, values: array<vec4<f32>, 4>, bank: u32) {
  let laneGrads = laneGradients(gradRow, gx0);
  for (var a = 0u; a < 8u; a++) {
    var sum = subgroupShuffle(laneGrads[0], a) * values[0];
    for (var c = 1u; c < COLUMNS; c++) { sum += subgroupShuffle(laneGrads[c], a) * values[c]; }
    acc[8u * bank + a] += sum;
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let lanesPerSplit = 64u / ROW_SPLIT;
  let split = local / lanesPerSplit;
  let work = group.x * lanesPerSplit + local % lanesPerSplit;
  let taps = params.kernelHeight * params.kernelWidth;
  let tap = work % taps;
  let b0 = (work / taps) * 4u;
  let a0 = group.y * A_CHANNELS;
  let s = i32(params.stride);
  let p = i32(params.padding);
  let ky = i32(tap / params.kernelWidth);
  let kx = i32(tap % params.kernelWidth);
  let gradPlane = params.gradHeight * params.gradWidth;
  let inPlane = params.inHeight * params.inWidth;
  let laneA = laneChannelOffsets(a0, lane, gradPlane);
  let inOffsets = quadOffsets(b0, inPlane);

  let rowStart = group.z * params.rowsPerChunk;
  let rowEnd = min(rowStart + params.rowsPerChunk, params.batch * params.gradHeight);
  for (var row = rowStart + split; row < rowEnd; row += ROW_SPLIT) {
    let n = row / params.gradHeight;
    let gy = row % params.gradHeight;
    let iy = i32(gy) * s - p + ky;
    let rowInside = iy >= 0 && iy < i32(params.inHeight);
    let gradRowOffset = n * params.gradChannels * gradPlane + gy * params.gradWidth;
    let inRow = inOffsets + (n * params.inChannels * inPlane + u32(select(0, iy, rowInside)) * params.inWidth);
    // COLUMNS columns at a time: each accumulator is read and written once per group of columns, the
    // sum over the group's columns formed first (columns past the row's end add zero).
    for (var gx0 = 0u; gx0 < params.gradWidth; gx0 += COLUMNS) {
      var values: array<vec4<f32>, 4>;
      for (var c = 0u; c < COLUMNS; c++) {
        let gx = gx0 + c;
        let ix = i32(gx) * s - p + kx;
        let inside = rowInside && gx < params.gradWidth && ix >= 0 && ix < i32(params.inWidth);
        let column = u32(select(0, ix, inside));
        values[c] = vec4<f32>(input[inRow.x + column], input[inRow.y + column], input[inRow.z + column], input[inRow.w + column])
          * select(0.0, 1.0, inside);
      }
      addBankSums(laneA.x + gradRowOffset, gx0, values, 0u);
      if (A_CHANNELS >= 16u) { addBankSums(laneA.y + gradRowOffset, gx0, values, 1u); }
      if (A_CHANNELS == 32u) {
        addBankSums(laneA.z + gradRowOffset, gx0, values, 2u);
        addBankSums(laneA.w + gradRowOffset, gx0, values, 3u);
      }
    }
  }

  // A copy for the dynamic indexing below, so that `acc` itself can stay in registers.
  var sums = acc;
  if (ROW_SPLIT > 1u) {
    if (split > 0u) {
      for (var i = 0u; i < A_CHANNELS; i++) { splitSums[(local - lanesPerSplit) * A_CHANNELS + i] = sums[i]; }
    }
    workgroupBarrier();
    if (split > 0u) { return; }
    for (var other = 1u; other < ROW_SPLIT; other++) {
      for (var i = 0u; i < A_CHANNELS; i++) { sums[i] += splitSums[((other - 1u) * lanesPerSplit + local) * A_CHANNELS + i]; }
    }
  }

  if (b0 >= params.inChannels) { return; }
  let chunkStart = group.z * params.gradChannels * params.inChannels * taps;
  for (var i = 0u; i < A_CHANNELS; i++) {
    let a = a0 + i;
    if (a >= params.gradChannels) { break; }
    for (var j = 0u; j < 4u; j++) {
      let b = b0 + j;
      if (b >= params.inChannels) { break; }
      partial[chunkStart + (a * params.inChannels + b) * taps + tap] = sums[i][j];
    }
  }
}

// main_rows: `main` with several taps of a kernel row per thread: 4 input channels b x
// the taps kx = kx0, kx0 + stride, ... of row ky (all of the row at stride 1, every other tap at
// stride 2) x A_CHANNELS gradient channels a. On lavapipe the per-thread input loads were 40% of that
// kernel's time (replacing them by arithmetic took D2's weight gradient from 233 to 141 ms), and such
// taps read the same input columns shifted by whole gradient columns: for 4 gradient columns, taps
// kx0 + stride * m (m < TAPS) read 3 + TAPS distinct columns, not 4 * TAPS. One thread loads each once.
//
// Gradient values go through the subgroup (lane i loads channel a0 + i, subgroupShuffle hands it out)
// and each accumulator is updated once per 4 columns, as in `main` (A_CHANNELS 8, 16 or 32 here). Same
// partial-sum layout; every thread runs the loops to the end (threads past the last (b quad, ky, kx0)
// work on it again and store nothing).

// The stride, and the taps per thread (at most 4), as constants so that every strip index is one.
// COLUMN_PHASES: the kx0 of the dispatch, from params.firstColumnPhase; all STRIDE of them where each
// has TAPS = kernel width / stride taps, else one a dispatch, each with its own TAPS (k3 s2: kx0 = 0
// has taps 0 and 2, kx0 = 1 tap 1 only).
override STRIDE: u32 = 2u;
override TAPS: u32 = 2u;
override COLUMN_PHASES: u32 = STRIDE;

// Accumulators [m * A_CHANNELS + a][b of the quad] for tap kx0 + STRIDE * m (TAPS x A_CHANNELS <= 128).
var<private> rowAcc: array<vec4<f32>, 128>;

// Load each lane's COLUMNS gradient values as one aligned vec4 (gradient rows a multiple of 4 long):
// lavapipe loads a vec4 for about the cost of 3 scalars (conv_gather_subgroup.wgsl says why).
override GRADIENT_VEC4: bool = false;

fn laneGradientQuad(gradRow: u32, gx0: u32) -> array<f32, 4> {
  if (GRADIENT_VEC4) {
    let v = gradient4[(gradRow + gx0) / 4u];
    return array<f32, 4>(v.x, v.y, v.z, v.w);
  }
  return laneGradients(gradRow, gx0);
}

// Adds the sums over COLUMNS gradient columns for the 8 channels a of one bank, per tap m and b, to
// their accumulators (tap m's of the bank's channels): lane i loads G[a_i] at those columns from `gradRow`
// (zero past the row's end). `strip[u]` holds the 4 b's input at column (gx0 + u) * stride - padding +
// kx0, so tap m at column gx0 + c reads strip[c + m]. Each sum goes to its accumulator as soon as it is
// formed (mostly 0.82-1.01x the time of forming all TAPS x 8 first, which lavapipe spilled; bench/RESULTS.md).
// Small loop bodies, so that lavapipe unrolls every loop and all indices are constants.
fn addRowBankSums(gradRow: u32, gx0: u32, strip: array<vec4<f32>, 8>, bank: u32) {
  let laneGrads = laneGradientQuad(gradRow, gx0);
  // [a][column]
  var g: array<array<f32, 4>, 8>;
  for (var a = 0u; a < 8u; a++) {
    for (var c = 0u; c < COLUMNS; c++) { g[a][c] = subgroupShuffle(laneGrads[c], a); }
  }
  for (var m = 0u; m < TAPS; m++) {
    for (var a = 0u; a < 8u; a++) {
      var sum = g[a][0] * strip[m];
      for (var c = 1u; c < COLUMNS; c++) { sum += g[a][c] * strip[c + m]; }
      rowAcc[m * A_CHANNELS + 8u * bank + a] += sum;
    }
  }
}

// The input as channel quads (INPUT_QUADS: shaders/channel_quads.wgsl's layout, [N, ceil(B / 4), H, W]
// vec4s): the strip's 4 b's at a column in one aligned load instead of 4 scalar ones from 4 planes.
// lavapipe loads storage per lane, with a mask and a bounds test for each load, and the strip's
// scalar loads were about 70% of G2's weight gradient (replaced by arithmetic: 0.31x the time); with
// the quads, packing included, G2 / D2 / S1 took 0.75 / 0.79 / 0.81x the time (bench/RESULTS.md).
override INPUT_QUADS: bool = false;
@group(0) @binding(6) var<storage, read> inputQuads: array<vec4<f32>>;

// Threads per workgroup: 64, or fewer for a layer with fewer threads (S1's 16 b quads x 3 rows: 48),
// so that no lane idles; a multiple of the subgroup size.
override ROWS_WORKGROUP: u32 = 64u;

@compute @workgroup_size(ROWS_WORKGROUP)
fn main_rows(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  let threads = (params.inChannels + 3u) / 4u * params.kernelHeight * COLUMN_PHASES;
  let work = min(id.x, threads - 1u);
  let kx0 = i32(params.firstColumnPhase + work % COLUMN_PHASES);
  let ky = i32((work / COLUMN_PHASES) % params.kernelHeight);
  let b0 = (work / (COLUMN_PHASES * params.kernelHeight)) * 4u;
  let a0 = group.y * A_CHANNELS;
  let p = i32(params.padding);
  let gradPlane = params.gradHeight * params.gradWidth;
  let inPlane = params.inHeight * params.inWidth;
  let laneA = laneChannelOffsets(a0, lane, gradPlane);
  let inOffsets = quadOffsets(b0, inPlane);
  let stripWidth = COLUMNS + TAPS - 1u;

  let rowStart = group.z * params.rowsPerChunk;
  let rowEnd = min(rowStart + params.rowsPerChunk, params.batch * params.gradHeight);
  // One loop over (row, group of COLUMNS columns), not a loop of rows around one of column groups:
  // lavapipe pays dearly for entering a loop, and the nested version took 1.47x the time on G1 (rows of
  // 8 columns), 1.01x on S1 (128; bench/RESULTS.md). The image, row and column are stepped rather than
  // divided for (lavapipe divides per lane).
  let groupsPerRow = (params.gradWidth + COLUMNS - 1u) / COLUMNS;
  let steps = select(0u, (rowEnd - rowStart) * groupsPerRow, rowEnd > rowStart);
  var n = rowStart / params.gradHeight;
  var gy = rowStart % params.gradHeight;
  var gx0 = 0u;
  var strip: array<vec4<f32>, 8>;
  for (var step = 0u; step < steps; step++) {
    let iy = i32(gy * STRIDE) - p + ky;
    let rowInside = iy >= 0 && iy < i32(params.inHeight);
    let gradRowOffset = n * params.gradChannels * gradPlane + gy * params.gradWidth;
    let inRow = inOffsets + (n * params.inChannels * inPlane + u32(select(0, iy, rowInside)) * params.inWidth);
    // Where the row starts among the channel quads (INPUT_QUADS).
    let quadRow = ((n * ((params.inChannels + 3u) / 4u) + b0 / 4u) * params.inHeight + u32(select(0, iy, rowInside))) * params.inWidth;
    // Within a row, the first TAPS - 1 columns are the previous step's last ones.
    let carry = gx0 != 0u;
    var next: array<vec4<f32>, 8>;
    for (var u = 0u; u < stripWidth; u++) {
      if (carry && u + 1u < TAPS) {
        next[u] = strip[u + COLUMNS];
        continue;
      }
      let ix = i32((gx0 + u) * STRIDE) - p + kx0;
      let inside = rowInside && ix >= 0 && ix < i32(params.inWidth);
      let column = u32(select(0, ix, inside));
      if (INPUT_QUADS) {
        next[u] = select(vec4<f32>(0.0), inputQuads[quadRow + column], inside);
      } else {
        next[u] = vec4<f32>(input[inRow.x + column], input[inRow.y + column], input[inRow.z + column], input[inRow.w + column])
          * select(0.0, 1.0, inside);
      }
    }
    strip = next;
    addRowBankSums(laneA.x + gradRowOffset, gx0, strip, 0u);
    if (A_CHANNELS >= 16u) { addRowBankSums(laneA.y + gradRowOffset, gx0, strip, 1u); }
    if (A_CHANNELS == 32u) {
      addRowBankSums(laneA.z + gradRowOffset, gx0, strip, 2u);
      addRowBankSums(laneA.w + gradRowOffset, gx0, strip, 3u);
    }
    gx0 += COLUMNS;
    if (gx0 >= params.gradWidth) {
      gx0 = 0u;
      gy++;
      if (gy == params.gradHeight) { gy = 0u; n++; }
    }
  }

  if (id.x >= threads) { return; }
  // A copy for the dynamic indexing below, so that `acc` itself can stay in registers.
  let sums = rowAcc;
  let taps = params.kernelHeight * params.kernelWidth;
  let chunkStart = group.z * params.gradChannels * params.inChannels * taps;
  for (var i = 0u; i < A_CHANNELS; i++) {
    let a = a0 + i;
    if (a >= params.gradChannels) { break; }
    for (var j = 0u; j < 4u; j++) {
      let b = b0 + j;
      if (b >= params.inChannels) { break; }
      for (var m = 0u; m < TAPS; m++) {
        let kx = u32(kx0) + STRIDE * m;
        if (kx >= params.kernelWidth) { break; }
        partial[chunkStart + (a * params.inChannels + b) * taps + u32(ky) * params.kernelWidth + kx] = sums[m * A_CHANNELS + i][j];
      }
    }
  }
}

// main_taps: for layers whose window side has 1 or 2 channels b (the discriminator's first conv2d,
// the generator's last convTranspose2d), where `main`'s quads of b would be mostly empty. A thread
// holds 4 consecutive taps kx0..kx0+3 of one kernel row ky and one b instead (x A_CHANNELS gradient
// channels a): at gradient column gx those taps read 4 consecutive input columns, so one strip of
// TAP_STRIP = 3 * STRIDE + 4 input columns serves the 4 taps at 4 gradient columns. Such a layer has
// only b x ky x tap quads of these threads, so the 64 lanes form 64 / TEAM teams (TEAM: that count
// rounded up to a power of 2; members past it repeat the last one and store nothing) that take every
// (64 / TEAM)-th row and add their sums through workgroup memory at the end. Every member of a team
// needs the same gradient values, loaded as vec4s of 4 columns (rows a multiple of 4 long): groups of
// SHARE consecutive lanes (the team, or as much of it as the smallest subgroup holds: a 9 x 9 kernel
// has 27 threads in a team of 32) share them, each lane loading A_CHANNELS / SHARE channels and
// subgroupShuffle handing them out (lanes are taken to be the workgroup's invocations in order, as
// for ROW_SPLIT).
override TEAM: u32 = 4u;
override TAP_STRIP: u32 = 10u;
override SHARE: u32 = TEAM;

// [a][tap of the quad]
var<private> tapAcc: array<vec4<f32>, 32>;

@compute @workgroup_size(64)
fn main_taps(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local: u32,
             @builtin(subgroup_invocation_id) lane: u32) {
  let member = local % TEAM;
  let team = local / TEAM;
  let teams = 64u / TEAM;
  let quads = (params.kernelWidth + 3u) / 4u;
  // Members past the layer's threads repeat the last one and store nothing.
  let threads = params.inChannels * params.kernelHeight * quads;
  let work = min(member, threads - 1u);
  let kx0 = (work % quads) * 4u;
  let ky = (work / quads) % params.kernelHeight;
  let b = work / (quads * params.kernelHeight);
  let a0 = group.y * A_CHANNELS;
  let perMember = A_CHANNELS / SHARE;
  let sharer = local % SHARE;
  let firstLane = lane - sharer;
  let s = i32(STRIDE);
  let p = i32(params.padding);
  let gradPlane = params.gradHeight * params.gradWidth;
  let inPlane = params.inHeight * params.inWidth;
  let lastA = params.gradChannels - 1u;

  let rowStart = group.z * params.rowsPerChunk;
  let rowEnd = min(rowStart + params.rowsPerChunk, params.batch * params.gradHeight);
  for (var row = rowStart + team; row < rowEnd; row += teams) {
    let n = row / params.gradHeight;
    let gy = row % params.gradHeight;
    let iy = i32(gy) * s - p + i32(ky);
    let rowInside = iy >= 0 && iy < i32(params.inHeight);
    let inRow = (n * params.inChannels + b) * inPlane + u32(select(0, iy, rowInside)) * params.inWidth;
    let gradRow = n * params.gradChannels * gradPlane + gy * params.gradWidth;
    for (var gx0 = 0u; gx0 < params.gradWidth; gx0 += COLUMNS) {
      // This lane's share of the channels, at the 4 columns.
      var mine: array<vec4<f32>, 16>;
      for (var i = 0u; i < perMember; i++) {
        let a = min(a0 + sharer * perMember + i, lastA);
        mine[i] = gradient4[(a * gradPlane + gradRow + gx0) / 4u];
      }
      // Tap kx0 + j at column gx0 + c reads strip[c * STRIDE + j].
      var strip: array<f32, 16>;
      for (var u = 0u; u < TAP_STRIP; u++) {
        let ix = i32(gx0) * s - p + i32(kx0 + u);
        let inside = rowInside && ix >= 0 && ix < i32(params.inWidth);
        strip[u] = select(0.0, input[inRow + u32(select(0, ix, inside))], inside);
      }
      var values: array<vec4<f32>, 4>;
      for (var c = 0u; c < COLUMNS; c++) {
        values[c] = vec4<f32>(strip[c * STRIDE], strip[c * STRIDE + 1u], strip[c * STRIDE + 2u], strip[c * STRIDE + 3u]);
      }
      for (var a = 0u; a < A_CHANNELS; a++) {
        let g = subgroupShuffle(mine[a % perMember], firstLane + a / perMember);
        var sum = g[0] * values[0];
        for (var c = 1u; c < COLUMNS; c++) { sum += g[c] * values[c]; }
        tapAcc[a] += sum;
      }
    }
  }

  // Team 0 adds the other teams' sums.
  var sums = tapAcc;
  if (team > 0u) {
    for (var i = 0u; i < A_CHANNELS; i++) { splitSums[(local - TEAM) * A_CHANNELS + i] = sums[i]; }
  }
  workgroupBarrier();
  if (team > 0u || member >= threads) { return; }
  for (var other = 1u; other < teams; other++) {
    for (var i = 0u; i < A_CHANNELS; i++) { sums[i] += splitSums[((other - 1u) * TEAM + member) * A_CHANNELS + i]; }
  }
  let chunkStart = group.z * params.gradChannels * params.inChannels * params.kernelHeight * params.kernelWidth;
  for (var i = 0u; i < A_CHANNELS; i++) {
    let a = a0 + i;
    if (a >= params.gradChannels) { break; }
    for (var j = 0u; j < 4u; j++) {
      let kx = kx0 + j;
      if (kx >= params.kernelWidth) { break; }
      partial[chunkStart + ((a * params.inChannels + b) * params.kernelHeight + ky) * params.kernelWidth + kx] = sums[i][j];
    }
  }
}
