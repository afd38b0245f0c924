// conv_gather.wgsl's strip gather (conv2d and convTranspose2d forwards, and so both grad-inputs)
// with the weights shared through the subgroup instead of loaded by every thread.
//
// Why: on lavapipe every storage-buffer load is per thread, even at an address that all threads of
// the subgroup share (the "uniform" weight loads of conv_gather.wgsl cost 8 scalar loads each, one
// per SIMD lane). Here the first 8 lanes of each subgroup load the update's weights between them,
// 4 output channels of one tap per lane (`tapWeightQuads`), and subgroupShuffle(weight, k) hands lane
// k's to every lane (k is a constant once the loop is unrolled: one vpermd on lavapipe): one load per
// weight instead of one per weight and thread. Loads are vec4s where the layout allows, since
// lavapipe checks bounds and the execution mask per lane and per load: a vec4 costs about what 3
// scalars do. It needs subgroups of at least 8 invocations (lavapipe: exactly 8); engine/ops/conv-kernels.ts
// picks it only then. Every thread of the workgroup runs the loops to the end, so the shuffles see
// all lanes; threads past the output load clamped addresses and store nothing.
//
// The accumulators (CHANNELS x 4 pixels) do not fit in registers, and lavapipe turns each update of
// one into a reload, an add, an execution-mask blend and a store. So `main` first sums, per output
// channel, all taps of a strip (and of ROWS row taps, and of INPUTS input channels), and updates each
// accumulator once per such group rather than once per tap (bench/RESULTS.md: 1.3-1.5x). A
// convTranspose2d whose phases have different taps runs one dispatch a phase (params.firstPhase),
// each compiled for its own taps.

enable subgroups;
diagnostic(off, subgroup_uniformity);

// #include conv_gather_params

// x: [N, Cin, H, W]; weights: packed [Cin, kH, kW, paddedOutChannels]; out: [N, Cout, OH, OW].
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

// epilogue(value, slope): the activation fused into the store (ACTIVATION, a pipeline constant).
// #include conv_epilogue
// The same buffer as x, for the aligned loads of VEC4_STRIP.
@group(0) @binding(5) var<storage, read> x4: array<vec4<f32>>;
// The same buffer as weights, for tapWeightQuads.
@group(0) @binding(6) var<storage, read> weights4: array<vec4<f32>>;

// Output channels per thread: 8, 16 or 32. A thread holds 4 pixels x CHANNELS accumulators.
override CHANNELS: u32 = 16u;
// Strip of input columns loaded per row and input channel (see conv_gather.wgsl's main_strip).
override STRIP_WIDTH: u32 = 10u;
override STRIP_PIXEL_STEP: u32 = 2u;
// Strip offsets that are taps (the column taps of a phase).
override TAPS: u32 = STRIP_WIDTH - 3u * STRIP_PIXEL_STEP;
// Row taps summed per accumulator update: 1, or 2 for strips of at most 2 column taps (rowsPerUpdate
// in engine/ops/conv-kernels.ts).
override ROWS: u32 = 2u;
// Input channels summed per accumulator update (1, 2 or 4; inChannels a multiple of it): more than
// one where a phase has few taps (convTranspose2d k3 s2's 1 x 1 phase: 4).
override INPUTS: u32 = 1u;
// Four-pixel inputs per update: INPUTS x ROWS row taps x TAPS strip offsets, at most 16.
override ENTRIES: u32 = INPUTS * ROWS * TAPS;
// Load each strip as STRIP_PIXEL_STEP aligned vec4s (the thread's own columns) plus halo columns taken
// from the neighbouring lanes' vec4s (see `vec4Strip`). Needs inWidth % 4 == 0.
override VEC4_STRIP: bool = false;
// Columns before and after the own ones that some phase's strip covers (at most 4 each), and
// whether some phase's strip starts one column later than the first phase's (0 or 1).
override HALO_LEFT: u32 = 1u;
override HALO_RIGHT: u32 = 1u;
override MAX_SHIFT: u32 = 0u;

// [channel]: 4 pixels each.
var<private> acc: array<vec4<f32>, 32>;

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

// Where a thread works, with `pixels` consecutive outputs of one row of its phase per thread. Taps and
// strips as in conv_gather.wgsl; everything except the pixel position is uniform.
struct Place {
  valid: bool,
  n: i32,
  rowIndex: i32,
  column0: i32,
  columns: i32,
  phaseRow: i32,
  rowTaps: vec2<i32>,
  columnTaps: vec2<i32>,
  rowOrigin: i32,
  stripStart: i32,
  // Input row and kernel row of the j-th row tap: rowOrigin + rowStep * j and rowTaps.y + kernelStep * j.
  rowStep: i32,
  kernelStep: i32,
  // Offset of the thread's image in x.
  batchStart: u32,
  // Output row and first column in the full output, and the step between the thread's columns.
  outRow: u32,
  outColumn0: i32,
  outColumnStep: i32,
}

fn place(id: vec3<u32>, group: vec3<u32>, pixels: i32) -> Place {
  var at: Place;
  let s = i32(params.stride);
  let transposed = params.transposed != 0u;
  let phase = i32(group.z + params.firstPhase);
  at.phaseRow = select(0, phase / s, transposed);
  let phaseColumn = select(0, phase % s, transposed);
  let rows = phaseLength(params.outHeight, at.phaseRow);
  at.columns = phaseLength(params.outWidth, phaseColumn);
  let groupsPerRow = (at.columns + pixels - 1) / pixels;
  let threads = i32(params.batch) * rows * groupsPerRow;
  at.valid = i32(id.x) < threads;
  // Threads past the end work on the last real position and do not store.
  let clamped = min(i32(id.x), max(threads - 1, 0));
  at.rowIndex = (clamped / groupsPerRow) % rows;
  at.n = clamped / (groupsPerRow * rows);
  at.column0 = (clamped % groupsPerRow) * pixels;
  at.rowTaps = tapCount(at.phaseRow, i32(params.kernelHeight));
  at.columnTaps = tapCount(phaseColumn, i32(params.kernelWidth));
  at.rowOrigin = tapOrigin(at.rowIndex, at.phaseRow, at.rowTaps.y);
  let columnOrigin = tapOrigin(at.column0, phaseColumn, at.columnTaps.y);
  at.stripStart = select(columnOrigin, columnOrigin - (at.columnTaps.x - 1), transposed);
  at.outRow = u32(select(at.rowIndex, at.phaseRow + s * at.rowIndex, transposed));
  at.outColumn0 = select(at.column0, phaseColumn + s * at.column0, transposed);
  at.outColumnStep = select(1, s, transposed);
  at.rowStep = select(1, -1, transposed);
  at.kernelStep = select(1, s, transposed);
  at.batchStart = u32(at.n) * params.inChannels * params.inHeight * params.inWidth;
  return at;
}

// The j-th row tap of a thread: whether its input row exists, its kernel row, and where the row
// starts in x (row 0 when outside, read and multiplied by zero).
struct RowTap {
  inside: bool,
  ky: i32,
  address: u32,
}

fn rowTap(at: Place, j: i32) -> RowTap {
  let inRow = at.rowOrigin + at.rowStep * j;
  let inside = inRow >= 0 && inRow < i32(params.inHeight);
  return RowTap(inside, at.rowTaps.y + at.kernelStep * j, at.batchStart + u32(select(0, inRow, inside)) * params.inWidth);
}

// Where the update's first input channel's weights of its row taps start (the next channels' are
// channelStride further each), and which column taps its strip offsets are.
struct TapWeights {
  rows: array<u32, 2>,
  channelStride: u32,
  count: i32,
  first: i32,
  kernelStep: i32,
  padded: u32,
}

// Which lanes hold a thread's halo columns for VEC4_STRIP. A thread's own columns are the
// 4 * STRIP_PIXEL_STEP from ownStart (aligned: column0 is a multiple of 4); its left halo is the end of
// the previous strip of the row, its right halo the start of the next one. When the thread on the
// adjacent lane is that strip (checked by its id, so that no lane order is assumed), the halo comes
// by shuffle; otherwise (first or last lane, row ends) it is loaded or is padding.
struct Neighbours {
  ownStart: i32,
  leftLane: u32,
  rightLane: u32,
  leftShared: bool,
  rightShared: bool,
  // Strip offset 0 is canonical column `shift` (HALO_LEFT columns before ownStart are canonical 0).
  shift: u32,
}

fn neighbours(at: Place, id: u32, lane: u32, subgroupSize: u32) -> Neighbours {
  var n: Neighbours;
  n.ownStart = at.column0 * i32(STRIP_PIXEL_STEP);
  n.leftLane = select(lane - 1u, lane, lane == 0u);
  n.rightLane = select(lane + 1u, lane, lane + 1u == subgroupSize);
  let leftId = subgroupShuffle(id, n.leftLane);
  let rightId = subgroupShuffle(id, n.rightLane);
  n.leftShared = lane > 0u && leftId + 1u == id && at.column0 > 0;
  n.rightShared = lane + 1u < subgroupSize && rightId == id + 1u && at.column0 + 4 < at.columns;
  n.shift = u32(i32(HALO_LEFT) - (n.ownStart - at.stripStart));
  return n;
}

// One row's strip (STRIP_WIDTH columns from at.stripStart) with aligned vec4 loads, the halos mostly
// by shuffle (bench/RESULTS.md: 0.8-0.97x the time of the scalar strip).
fn vec4Strip(row: RowTap, channelOffset: u32, n: Neighbours, width: i32) -> array<f32, 16> {
  let rowBase = row.address + channelOffset;
  let first = (rowBase + u32(n.ownStart)) / 4u;
  var canonical: array<f32, 24>;
  var firstOwn = vec4<f32>(0.0);
  var lastOwn = vec4<f32>(0.0);
  for (var m = 0u; m < STRIP_PIXEL_STEP; m++) {
    let v = x4[first + m];
    if (m == 0u) { firstOwn = v; }
    lastOwn = v;
    for (var c = 0u; c < 4u; c++) {
      let inside = row.inside && n.ownStart + i32(4u * m + c) < width;
      canonical[HALO_LEFT + 4u * m + c] = select(0.0, v[c], inside);
    }
  }
  for (var j = 0u; j < HALO_LEFT; j++) {
    let neighbour = subgroupShuffle(lastOwn[4u - HALO_LEFT + j], n.leftLane);
    let column = n.ownStart - i32(HALO_LEFT - j);
    var value = select(0.0, neighbour, n.leftShared && row.inside);
    if (!n.leftShared && row.inside && column >= 0) { value = x[rowBase + u32(column)]; }
    canonical[j] = value;
  }
  let right = HALO_LEFT + 4u * STRIP_PIXEL_STEP;
  for (var j = 0u; j < HALO_RIGHT; j++) {
    let neighbour = subgroupShuffle(firstOwn[j], n.rightLane);
    let column = n.ownStart + i32(4u * STRIP_PIXEL_STEP + j);
    // The neighbour's own columns can run past the row (outputs wider than the input: k4 s1 p2), and
    // it hands out its loads unmasked.
    var value = select(0.0, neighbour, n.rightShared && row.inside && column < width);
    if (!n.rightShared && row.inside && column < width) { value = x[rowBase + u32(column)]; }
    canonical[right + j] = value;
  }
  var strip: array<f32, 16>;
  for (var t = 0u; t < STRIP_WIDTH; t++) {
    strip[t] = select(canonical[t], canonical[t + MAX_SHIFT], n.shift != 0u);
  }
  return strip;
}

// The update's weights, 4 output channels per load: CHANNELS / 4 lanes cover one tap's channels, so
// one vec4 load of the subgroup's first 8 lanes covers TAPS_PER_LOAD taps. Entry tau = (i * ROWS + r) * TAPS + t
// (input channel i, row tap r, strip offset t) is in load tau / TAPS_PER_LOAD, on lane
// (tau % TAPS_PER_LOAD) * LANES_PER_TAP + channel / 4.
override LANES_PER_TAP: u32 = CHANNELS / 4u;
override TAPS_PER_LOAD: u32 = 8u / LANES_PER_TAP;
override WEIGHT_LOADS: u32 = (ENTRIES + TAPS_PER_LOAD - 1u) / TAPS_PER_LOAD;

fn tapWeightQuads(taps: TapWeights, channelBase: u32, lane: u32) -> array<vec4<f32>, 16> {
  let transposed = params.transposed != 0u;
  let tapInLoad = (lane % 8u) / LANES_PER_TAP;
  let channel = channelBase + 4u * (lane % LANES_PER_TAP);
  let lastQuad = arrayLength(&weights4) - 1u;
  var quads: array<vec4<f32>, 16>;
  for (var load = 0u; load < WEIGHT_LOADS; load++) {
    let tau = load * TAPS_PER_LOAD + tapInLoad;
    let t = tau % TAPS;
    // Strip offset t is tap j = t for conv2d and j = count - 1 - t for convTranspose2d.
    let j = select(i32(t), taps.count - 1 - i32(t), transposed);
    let kx = taps.first + taps.kernelStep * clamp(j, 0, max(taps.count - 1, 0));
    let row = select(taps.rows[0], taps.rows[1], (tau / TAPS) % ROWS == 1u) + (tau / (ROWS * TAPS)) * taps.channelStride;
    let valid = tau < ENTRIES && j >= 0 && j < taps.count && channel < taps.padded;
    quads[load] = select(vec4<f32>(0.0), weights4[min((row + u32(kx) * taps.padded + channel) / 4u, lastQuad)], valid);
  }
  return quads;
}

// Adds, for output channels 8 * bank to 8 * bank + 7 of the thread's, the sum over the update's taps
// (INPUTS input channels x ROWS row taps x TAPS strip offsets, `values` in that order) to the channel's accumulators, each
// sum as soon as it is formed: a whole bank of sums is 32 vector registers, which lavapipe spilled to
// the stack and reloaded (bench/RESULTS.md: 0.66-0.96x the time with 32 channels).
fn addBankSums(quads: array<vec4<f32>, 16>, bank: u32, values: array<vec4<f32>, 16>) {
  for (var k = 0u; k < 8u; k++) {
    let c = 8u * bank + k;
    var sum = vec4<f32>(0.0);
    for (var tau = 0u; tau < ENTRIES; tau++) {
      let w = subgroupShuffle(quads[tau / TAPS_PER_LOAD][c % 4u], (tau % TAPS_PER_LOAD) * LANES_PER_TAP + c / 4u);
      sum += w * values[tau];
    }
    acc[c] += sum;
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) subgroupSize: u32) {
  let at = place(id, group, 4);
  let sharing = neighbours(at, id.x, lane, subgroupSize);
  let width = i32(params.inWidth);
  let inPlane = params.inHeight * params.inWidth;
  let padded = params.paddedOutChannels;
  let weightChannelStride = params.kernelHeight * params.kernelWidth * padded;
  let channelBase = group.y * CHANNELS;

  for (var jy = 0; jy < at.rowTaps.x; jy += i32(ROWS)) {
    // The update's row taps; past the last one, a row of zeros.
    var rows: array<RowTap, 2>;
    var taps: TapWeights;
    for (var r = 0u; r < ROWS; r++) {
      let j = jy + i32(r);
      rows[r] = rowTap(at, min(j, at.rowTaps.x - 1));
      rows[r].inside = rows[r].inside && j < at.rowTaps.x;
      taps.rows[r] = u32(rows[r].ky * i32(params.kernelWidth)) * padded;
    }
    taps.count = at.columnTaps.x;
    taps.first = at.columnTaps.y;
    taps.kernelStep = at.kernelStep;
    taps.padded = padded;
    taps.channelStride = weightChannelStride;
    var channelOffset = 0u;
    for (var ci = 0u; ci < params.inChannels; ci += INPUTS) {
      // Each channel's and row's strip of input columns, as the 4 pixels' inputs at each strip offset.
      var values: array<vec4<f32>, 16>;
      for (var e = 0u; e < INPUTS * ROWS; e++) {
        let r = e % ROWS;
        var strip: array<f32, 16>;
        if (VEC4_STRIP) {
          strip = vec4Strip(rows[r], channelOffset + (e / ROWS) * inPlane, sharing, width);
        } else {
          for (var t = 0u; t < STRIP_WIDTH; t++) {
            let column = at.stripStart + i32(t);
            let inside = rows[r].inside && column >= 0 && column < width;
            strip[t] = select(0.0, x[rows[r].address + channelOffset + (e / ROWS) * inPlane + u32(select(0, column, inside))], inside);
          }
        }
        for (var t = 0u; t < TAPS; t++) {
          values[e * TAPS + t] = vec4<f32>(strip[t], strip[t + STRIP_PIXEL_STEP], strip[t + 2u * STRIP_PIXEL_STEP], strip[t + 3u * STRIP_PIXEL_STEP]);
        }
      }
      // Per output channel, the sum over the update's taps first: each accumulator is read and
      // written once per input channel and update, not once per tap.
      let quads = tapWeightQuads(taps, channelBase, lane);
      addBankSums(quads, 0u, values);
      if (CHANNELS >= 16u) { addBankSums(quads, 1u, values); }
      if (CHANNELS == 32u) {
        addBankSums(quads, 2u, values);
        addBankSums(quads, 3u, values);
      }
      for (var r = 0u; r < ROWS; r++) { taps.rows[r] += INPUTS * weightChannelStride; }
      channelOffset += INPUTS * inPlane;
    }
  }
  if (!at.valid) { return; }

  let outPlane = params.outHeight * params.outWidth;
  let accumulators = acc;
  let slope = epilogueSlope();
  for (var i = 0; i < 4; i++) {
    if (at.column0 + i >= at.columns) { break; }
    let outColumn = u32(at.outColumn0 + at.outColumnStep * i);
    for (var k = 0u; k < CHANNELS; k++) {
      let co = channelBase + k;
      if (co >= params.outChannels) { break; }
      var value = accumulators[k][i];
      if (params.hasBias != 0u) { value += bias[co]; }
      out[(u32(at.n) * params.outChannels + co) * outPlane + at.outRow * params.outWidth + outColumn] = epilogue(value, slope);
    }
  }
}

// main_pixels: one output channel (workgroup y) and PIXELS outputs of a row per thread, for layers
// with a few output channels (the SRGAN's 9x9 tail, the CGAN's 1-channel convTranspose2d), where
// main would waste most of its 8-16 channels. The weights are shared the other way round: lane i
// loads the weight of input channel firstInput + i at each column tap, and the broadcasts give every lane
// all eight; the strip of input columns serves all the row's taps of the thread's pixels.
override PIXELS: u32 = 8u;
// Strip columns: (PIXELS - 1) * STRIP_PIXEL_STEP + column taps, at most 32.
override PIXEL_STRIP: u32 = 16u;
// Column taps of the widest phase (the kernel width for conv2d), at most 16.
override COLUMN_TAPS: u32 = 9u;
// The strip as PIXEL_STRIP / 4 aligned vec4 loads (engine/ops/conv-kernels.ts pixelStripAligned: stride 1,
// rows a multiple of 4 long, strips starting at a multiple of 4, as the SRGAN's k9 p4 layers' do):
// lavapipe loads storage lane by lane, and a vec4 costs less per float than a scalar (bench/load-costs.ts).
override PIXEL_VEC4: bool = false;
// Input channels a multiple of 8, so that every bank is whole: the bank's channel loop then has no exit
// test and LLVM unrolls it, where lavapipe keeps a rolled loop's carried accumulators in stack slots (the
// SRGAN's 64 -> 1 k9 tail: 0.65x the time). A partial bank keeps the test (reading its missing channels
// as zeros instead took 1.18x the time on 5 channels).
override PIXEL_WHOLE_BANKS: bool = false;

var<private> pixelAcc: array<f32, 16>;
// [strip offset of the tap][input channel within the bank of 8]
var<private> tapWeights: array<array<f32, 8>, 16>;

@compute @workgroup_size(64)
fn main_pixels(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>,
               @builtin(subgroup_invocation_id) lane: u32) {
  let at = place(id, group, i32(PIXELS));
  let transposed = params.transposed != 0u;
  let count = at.columnTaps.x;
  let width = i32(params.inWidth);
  let inPlane = params.inHeight * params.inWidth;
  let co = group.y;
  let lastWeight = arrayLength(&weights) - 1u;

  for (var jy = 0; jy < at.rowTaps.x; jy++) {
    let row = rowTap(at, jy);
    let ky = u32(row.ky);
    for (var firstInput = 0u; firstInput < params.inChannels; firstInput += 8u) {
      let laneInput = firstInput + lane % 8u;
      for (var t = 0u; t < COLUMN_TAPS; t++) {
        // Strip offset t is tap j = t for conv2d and j = count - 1 - t for convTranspose2d.
        let j = select(i32(t), count - 1 - i32(t), transposed);
        let kx = u32(at.columnTaps.y + at.kernelStep * clamp(j, 0, max(count - 1, 0)));
        let index = ((laneInput * params.kernelHeight + ky) * params.kernelWidth + kx) * params.paddedOutChannels + co;
        let w = select(0.0, weights[min(index, lastWeight)], laneInput < params.inChannels && j >= 0 && j < count);
        tapWeights[t][0] = subgroupBroadcast(w, 0u);
        tapWeights[t][1] = subgroupBroadcast(w, 1u);
        tapWeights[t][2] = subgroupBroadcast(w, 2u);
        tapWeights[t][3] = subgroupBroadcast(w, 3u);
        tapWeights[t][4] = subgroupBroadcast(w, 4u);
        tapWeights[t][5] = subgroupBroadcast(w, 5u);
        tapWeights[t][6] = subgroupBroadcast(w, 6u);
        tapWeights[t][7] = subgroupBroadcast(w, 7u);
      }
      for (var k = 0u; k < 8u; k++) {
        let channel = firstInput + k;
        if (!PIXEL_WHOLE_BANKS && channel >= params.inChannels) { break; }
        var strip: array<f32, 32>;
        if (PIXEL_VEC4) {
          // A vec4 lies wholly inside the row or wholly outside it.
          for (var m = 0u; m < PIXEL_STRIP / 4u; m++) {
            let column = at.stripStart + i32(4u * m);
            let inside = row.inside && column >= 0 && column < width;
            let v = select(vec4<f32>(0.0), x4[(row.address + channel * inPlane + u32(select(0, column, inside))) / 4u], inside);
            strip[4u * m] = v.x;
            strip[4u * m + 1u] = v.y;
            strip[4u * m + 2u] = v.z;
            strip[4u * m + 3u] = v.w;
          }
        } else {
          for (var t = 0u; t < PIXEL_STRIP; t++) {
            let column = at.stripStart + i32(t);
            let inside = row.inside && column >= 0 && column < width;
            strip[t] = select(0.0, x[row.address + channel * inPlane + u32(select(0, column, inside))], inside);
          }
        }
        for (var t = 0u; t < COLUMN_TAPS; t++) {
          let w = tapWeights[t][k];
          for (var p = 0u; p < PIXELS; p++) {
            pixelAcc[p] += w * strip[t + p * STRIP_PIXEL_STEP];
          }
        }
      }
    }
  }
  if (!at.valid) { return; }

  let outPlane = params.outHeight * params.outWidth;
  let accumulators = pixelAcc;
  let slope = epilogueSlope();
  for (var p = 0; p < i32(PIXELS); p++) {
    if (at.column0 + p >= at.columns) { break; }
    var value = accumulators[p];
    if (params.hasBias != 0u) { value += bias[co]; }
    out[(u32(at.n) * params.outChannels + co) * outPlane + at.outRow * params.outWidth + u32(at.outColumn0 + at.outColumnStep * p)] = epilogue(value, slope);
  }
}

// main_phases: convTranspose2d with a 4x4 kernel, stride 2 and padding 1 (the DCGAN upsampling) to a few
// output channels: G4's 64 -> 1 forward and D1's grad-input. main_pixels treats each of the four output
// phases (oy mod 2, ox mod 2) as its own convolution, so the input values under a pixel are loaded once
// per phase. Here one thread computes all four: output rows 2r and 2r+1, columns 2q ..
// 2q+2*PHASE_COLUMNS-1 for q = q0 .. q0+PHASE_COLUMNS-1, which read only input rows r-1, r, r+1 and
// columns q0-1 .. q0+PHASE_COLUMNS. Per input channel that is 3 x (PHASE_COLUMNS + 2) loads for 16 *
// PHASE_COLUMNS multiply-adds, against 18 loads for 32 in main_pixels; per-thread loads are what
// lavapipe pays for.
//
// Output o = 2i - 1 + k, so output row 2r + a takes input row r + d at kernel row 1 + a - 2d:
// a = 0 from rows r-1 (ky 3) and r (ky 1), a = 1 from rows r (ky 2) and r+1 (ky 0); columns alike.
//
// Weights go through the subgroup as in `main`: lane i loads the 16 taps of input
// channel c0 + i, and subgroupShuffle(w, k) gives every lane channel c0 + k's. Every thread runs the
// loops to the end (threads past the output work on the last position and store nothing).

// Input columns per thread (each gives 2 x 2 outputs); the strips hold PHASE_COLUMNS + 2 columns.
override PHASE_COLUMNS: u32 = 8u;

// [output row a][output column 2i + b]
var<private> phaseAcc: array<array<f32, 32>, 2>;

// Input row `row` of the thread's strip: columns q0-1 .. q0+PHASE_COLUMNS of one channel, zero outside.
fn phaseStrip(channelStart: u32, row: i32, q0: i32) -> array<f32, 18> {
  var strip: array<f32, 18>;
  let width = i32(params.inWidth);
  let rowInside = row >= 0 && row < i32(params.inHeight);
  let rowStart = channelStart + u32(select(0, row, rowInside) * width);
  for (var j = 0u; j < PHASE_COLUMNS + 2u; j++) {
    let column = q0 - 1 + i32(j);
    let inside = rowInside && column >= 0 && column < width;
    strip[j] = select(0.0, x[rowStart + u32(select(0, column, inside))], inside);
  }
  return strip;
}

// phaseStrip from aligned vec4 loads (PHASE_VEC4: input rows a multiple of 4 long): the thread's own
// PHASE_COLUMNS columns as PHASE_COLUMNS / 4 vec4s and one vec4 either side for columns q0 - 1 and
// q0 + PHASE_COLUMNS: 4 loads a row where phaseStrip has 10. lavapipe loads storage per lane, with a
// mask and a bounds test for each, and a vec4 costs less per float than a scalar (bench/load-costs.ts);
// G4's forward took 0.69-0.77x the time (bench/RESULTS.md).
override PHASE_VEC4: bool = false;

fn phaseStripVec4(channelStart: u32, row: i32, q0: i32) -> array<f32, 18> {
  var strip: array<f32, 18>;
  let width = i32(params.inWidth);
  let rowInside = row >= 0 && row < i32(params.inHeight);
  // channelStart, the row's start and q0 are multiples of 4.
  let own = (channelStart + u32(select(0, row, rowInside) * width + q0)) / 4u;
  let last = arrayLength(&x4) - 1u;
  let left = x4[max(own, 1u) - 1u];
  strip[0] = select(0.0, left.w, rowInside && q0 > 0);
  for (var t = 0u; t < PHASE_COLUMNS / 4u; t++) {
    let inside = rowInside && q0 + i32(4u * t) < width;
    let v = select(vec4<f32>(0.0), x4[min(own + t, last)], inside);
    strip[4u * t + 1u] = v.x;
    strip[4u * t + 2u] = v.y;
    strip[4u * t + 3u] = v.z;
    strip[4u * t + 4u] = v.w;
  }
  let right = x4[min(own + PHASE_COLUMNS / 4u, last)];
  strip[PHASE_COLUMNS + 1u] = select(0.0, right.x, rowInside && q0 + i32(PHASE_COLUMNS) < width);
  return strip;
}

fn phaseRow(channelStart: u32, row: i32, q0: i32) -> array<f32, 18> {
  if (PHASE_VEC4) { return phaseStripVec4(channelStart, row, q0); }
  return phaseStrip(channelStart, row, q0);
}

@compute @workgroup_size(64)
fn main_phases(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>,
               @builtin(subgroup_invocation_id) lane: u32) {
  let height = i32(params.inHeight);
  let width = i32(params.inWidth);
  let blocks = (width + i32(PHASE_COLUMNS) - 1) / i32(PHASE_COLUMNS);
  let threads = i32(params.batch) * height * blocks;
  let thread = min(i32(id.x), threads - 1);
  let q0 = (thread % blocks) * i32(PHASE_COLUMNS);
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
      let above = phaseRow(channelStart, r - 1, q0);
      let middle = phaseRow(channelStart, r, q0);
      let below = phaseRow(channelStart, r + 1, q0);
      var w: array<f32, 16>;
      for (var tap = 0u; tap < 16u; tap++) { w[tap] = subgroupShuffle(laneWeights[tap], k); }
      // Strip index i + e + 1 is input column q0 + i + e; tap index ky * 4 + kx.
      for (var i = 0u; i < PHASE_COLUMNS; i++) {
        phaseAcc[0][2u * i] += w[15] * above[i] + w[13] * above[i + 1u] + w[7] * middle[i] + w[5] * middle[i + 1u];
        phaseAcc[0][2u * i + 1u] += w[14] * above[i + 1u] + w[12] * above[i + 2u] + w[6] * middle[i + 1u] + w[4] * middle[i + 2u];
        phaseAcc[1][2u * i] += w[11] * middle[i] + w[9] * middle[i + 1u] + w[3] * below[i] + w[1] * below[i + 1u];
        phaseAcc[1][2u * i + 1u] += w[10] * middle[i + 1u] + w[8] * middle[i + 2u] + w[2] * below[i + 1u] + w[0] * below[i + 2u];
      }
    }
  }
  if (i32(id.x) >= threads) { return; }

  let sums = phaseAcc;
  let outPlane = params.outHeight * params.outWidth;
  let outStart = (u32(n) * params.outChannels + co) * outPlane;
  let biasValue = select(0.0, bias[co], params.hasBias != 0u);
  let slope = epilogueSlope();
  for (var a = 0u; a < 2u; a++) {
    let outRow = u32(2 * r) + a;
    for (var column = 0u; column < 2u * PHASE_COLUMNS; column++) {
      let outColumn = u32(2 * q0) + column;
      if (outColumn >= params.outWidth) { break; }
      out[outStart + outRow * params.outWidth + outColumn] = epilogue(sums[a][column] + biasValue, slope);
    }
  }
}
