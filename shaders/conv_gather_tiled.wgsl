// conv_gather.wgsl's gather (conv2d and convTranspose2d forwards, and so both grad-inputs) as a
// tiled GEMM through workgroup memory, for GPUs. Workgroup z is one output phase (convTranspose2d:
// stride x stride of them, each with its own taps; conv2d: one), and within it
//   out[n, co, pixel] = sum over k of W[k, co] * X[k, pixel],
// with pixel = (n, q, r) running over the phase's outputs and k = (jy, jx, ci) over the phase's row
// and column taps (conv_gather_subgroup.wgsl's tapCount and tapOrigin) and the input channels.
// Each step, the 256 threads copy K_STEP values of k for the tile's TILE_C channels (packed weights:
// consecutive threads take consecutive channels) and TILE_P pixels (consecutive pixels) into
// workgroup memory, then every thread multiplies its THREAD_C x THREAD_P outputs from there, while
// the next step's values load into registers. A step is K_STEP input channels of one tap (StepAt),
// so the loop does no integer divisions and a load costs an add and a compare.
// With SPLITS > 1 the reduction is also split over workgroups (z = phase x SPLITS + split, each
// split a run of whole steps): `out` then holds SPLITS partial outputs, and reduce_splits adds them
// and the bias. For layers whose tiles are too few to keep a large GPU busy (G3's grad-input: 128
// tiles of 128 x 128 for 132 multiprocessors).

// #include conv_gather_params

// x: [N, Cin, H, W]; weights: packed [Cin, kH, kW, paddedOutChannels]; out: [N, Cout, OH, OW].
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
// reduce_splits: the SPLITS partial outputs, and the sum.
@group(0) @binding(5) var<storage, read> partialOutputs: array<f32>;
@group(0) @binding(6) var<storage, read_write> result: array<f32>;

// epilogue(value, slope): the activation fused into the store (ACTIVATION, a pipeline constant).
// #include conv_epilogue

// Outputs per thread: THREAD_C channels x THREAD_P pixels (4 or 8 each), in vec4s of 4 neighbours
// read from workgroup memory as vec4s, as in conv_grad_weight_tiled.wgsl. The 256 threads are K_SPLIT
// groups of GROUP_X x GROUP_Y; thread (tx, ty) of a group owns the vec4s ty + GROUP_Y q of the tile's
// channels and tx + GROUP_X q of its pixels. With K_SPLIT 4 (groups of 8 x 8 on a 32 x 32 tile), each
// group takes a quarter of every step's positions of k and the groups add their sums at the end: 4x
// the threads on a layer with few outputs and a long reduction (G1's grad-input: 16 images of 8 x 8
// outputs, 4096 positions of k).
override K_SPLIT: u32 = 1u;
override SPLITS: u32 = 1u;
override GROUP_X: u32 = 16u;
override GROUP_Y: u32 = 256u / K_SPLIT / GROUP_X;
override THREAD_C: u32 = 4u;
override THREAD_P: u32 = 4u;
override TILE_C: u32 = GROUP_Y * THREAD_C;
override TILE_P: u32 = GROUP_X * THREAD_P;
override K_STEP: u32 = 1024u / max(TILE_C, TILE_P);
override STRIDE_C: u32 = TILE_C + 4u;
override STRIDE_P: u32 = TILE_P + 4u;
override LOADS_W: u32 = K_STEP * TILE_C / 256u;
override LOADS_X: u32 = K_STEP * TILE_P / 256u;
// Rows of k that one pass of the 256 threads covers in each tile.
override PASS_W: u32 = 256u / TILE_C;
override PASS_X: u32 = 256u / TILE_P;
// Workgroup memory in vec4s: BUFFERS copies of one step's tiles, [k][co] at 0 and [k][pixel] at
// X_TILE, both K_STEP rows of their stride (6.25-9 KiB a copy); after the loop, groups 1.. of K_SPLIT
// put their sums there, 4 vec4s per thread (at most 3 x 64 x 4 vec4s: 12 KiB). With BUFFERS 2 (where
// the device allows the 12.5-18 KiB) each step stores the next step's values into the other copy while
// this one's are multiplied: one barrier a step instead of two.
override BUFFERS: u32 = 1u;
override X_TILE: u32 = K_STEP * STRIDE_C / 4u;
override BUFFER_VEC4S: u32 = X_TILE + K_STEP * STRIDE_P / 4u;
override SHARED_VEC4S: u32 = max(BUFFERS * BUFFER_VEC4S, (K_SPLIT - 1u) * GROUP_X * GROUP_Y * THREAD_C * THREAD_P / 4u);

var<workgroup> shared4: array<vec4<f32>, SHARED_VEC4S>;

// Taps of a kernel line that hit outputs of `phase` (count, first), and the input line under output
// line q at tap 0, as in conv_gather_subgroup.wgsl.
fn tapCount(phase: u32, kernelSize: u32) -> vec2<u32> {
  if (params.transposed == 0u) { return vec2<u32>(kernelSize, 0u); }
  let first = (phase + params.padding) % params.stride;
  return vec2<u32>(select(0u, (kernelSize - first + params.stride - 1u) / params.stride, first < kernelSize), first);
}

fn tapOrigin(q: u32, phase: u32, first: u32) -> i32 {
  if (params.transposed == 0u) { return i32(q * params.stride) - i32(params.padding); }
  return i32(q + (phase + params.padding - first) / params.stride);
}

fn phaseLength(size: u32, phase: u32) -> u32 {
  if (params.transposed == 0u) { return size; }
  return select(0u, (size - phase + params.stride - 1u) / params.stride, phase < size);
}

// A phase's sizes: its output rows and columns and its row and column taps (count, first).
struct Phase {
  row: u32,
  column: u32,
  rows: u32,
  columns: u32,
  rowTaps: vec2<u32>,
  columnTaps: vec2<u32>,
}

fn phaseOf(z: u32) -> Phase {
  var phase: Phase;
  let transposed = params.transposed != 0u;
  phase.row = select(0u, z / params.stride, transposed);
  phase.column = select(0u, z % params.stride, transposed);
  phase.rows = phaseLength(params.outHeight, phase.row);
  phase.columns = phaseLength(params.outWidth, phase.column);
  phase.rowTaps = tapCount(phase.row, params.kernelHeight);
  phase.columnTaps = tapCount(phase.column, params.kernelWidth);
  return phase;
}

// Position of a step in the reduction. k runs over (jy, jx, ci), the input channel fastest, with the
// channels padded to whole steps (ci past inChannels loads zeros): all K_STEP positions of a step share
// one tap, so each thread tests its input window once a step, and its loads lie whole planes apart.
struct StepAt {
  ci: u32,
  jy: u32,
  jx: u32,
}

fn paddedChannels() -> u32 {
  return (params.inChannels + K_STEP - 1u) / K_STEP * K_STEP;
}

fn stepAt(k: u32, phase: Phase) -> StepAt {
  let tap = k / paddedChannels();
  let columnTaps = max(phase.columnTaps.x, 1u);
  return StepAt(k % paddedChannels(), tap / columnTaps, tap % columnTaps);
}

fn nextStep(at: StepAt, phase: Phase) -> StepAt {
  var next = at;
  next.ci += K_STEP;
  if (next.ci >= paddedChannels()) {
    next.ci = 0u;
    next.jx += 1u;
    if (next.jx >= phase.columnTaps.x) { next.jx = 0u; next.jy += 1u; }
  }
  return next;
}

// Kernel row (or column) of tap j of a phase line (convTranspose2d: every stride-th from the first).
fn kernelTap(taps: vec2<u32>, j: u32) -> u32 {
  return taps.y + select(1u, params.stride, params.transposed != 0u) * j;
}

// The thread's part of each step's copy: its pixel (where its input window starts), its weight
// channel, and its first rows of the step's weight and input tiles (then every PASS_W / PASS_X).
struct Copy {
  pixelValid: bool,
  inputBase: u32,
  rowOrigin: i32,
  columnOrigin: i32,
  channel: u32,
  weightRow: u32,
  inputRow: u32,
}

struct Staged {
  w: array<f32, 4>,
  x: array<f32, 4>,
}

fn stage(copy: Copy, at: StepAt, phase: Phase) -> Staged {
  var staged: Staged;
  // (Past the last tap: the loop stages one step beyond its end, which it never multiplies.)
  let tapValid = at.jy < phase.rowTaps.x;
  let ky = kernelTap(phase.rowTaps, at.jy);
  let kx = kernelTap(phase.columnTaps, at.jx);
  // packed weights [ci][ky][kx][co]: the step's channels a whole tap block apart.
  let channelStride = params.kernelHeight * params.kernelWidth * params.paddedOutChannels;
  let weightBase = (ky * params.kernelWidth + kx) * params.paddedOutChannels + copy.channel;
  let weightValid = tapValid && copy.channel < params.outChannels;
  for (var m = 0u; m < LOADS_W; m++) {
    let ci = at.ci + copy.weightRow + PASS_W * m;
    if (weightValid && ci < params.inChannels) { staged.w[m] = weights[weightBase + ci * channelStride]; }
  }
  let lineStep = select(1, -1, params.transposed != 0u);
  let iy = copy.rowOrigin + lineStep * i32(at.jy);
  let ix = copy.columnOrigin + lineStep * i32(at.jx);
  let inside = tapValid && copy.pixelValid && u32(iy) < params.inHeight && u32(ix) < params.inWidth;
  let plane = params.inHeight * params.inWidth;
  let inputBase = copy.inputBase + select(0u, u32(iy) * params.inWidth + u32(ix), inside);
  for (var m = 0u; m < LOADS_X; m++) {
    let ci = at.ci + copy.inputRow + PASS_X * m;
    if (inside && ci < params.inChannels) { staged.x[m] = x[inputBase + ci * plane]; }
  }
  return staged;
}

// The thread's staged values into the copy of the tiles at `buffer` (in vec4s).
fn store(staged: Staged, buffer: u32, local: u32) {
  for (var m = 0u; m < LOADS_W; m++) {
    let i = (local / TILE_C + PASS_W * m) * STRIDE_C + local % TILE_C;
    shared4[buffer + i / 4u][i % 4u] = staged.w[m];
  }
  for (var m = 0u; m < LOADS_X; m++) {
    let i = (local / TILE_P + PASS_X * m) * STRIDE_P + local % TILE_P;
    shared4[buffer + X_TILE + i / 4u][i % 4u] = staged.x[m];
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local: u32) {
  let phase = phaseOf(group.z / SPLITS);
  let split = group.z % SPLITS;
  let phasePixels = phase.rows * phase.columns;
  let pixels = params.batch * phasePixels;
  let c0 = group.y * TILE_C;
  let p0 = group.x * TILE_P;
  // Uniform, as the barriers in the loop need. This workgroup's run of the reduction: whole steps
  // (so that no split's last step reaches into the next one's), the last split ending at the end.
  let reduction = paddedChannels() * phase.rowTaps.x * phase.columnTaps.x;
  let splitLength = ((reduction + K_STEP - 1u) / K_STEP + SPLITS - 1u) / SPLITS * K_STEP;
  let kBegin = min(reduction, split * splitLength);
  let kEnd = min(reduction, kBegin + splitLength);

  var copy: Copy;
  let pixel = p0 + local % TILE_P;
  copy.pixelValid = pixel < pixels;
  let n = pixel / max(phasePixels, 1u);
  let q = (pixel % max(phasePixels, 1u)) / max(phase.columns, 1u);
  let r = pixel % max(phase.columns, 1u);
  copy.inputBase = n * params.inChannels * params.inHeight * params.inWidth;
  copy.rowOrigin = tapOrigin(q, phase.row, phase.rowTaps.y);
  copy.columnOrigin = tapOrigin(r, phase.column, phase.columnTaps.y);
  copy.channel = c0 + local % TILE_C;
  copy.weightRow = local / TILE_C;
  copy.inputRow = local / TILE_P;
  var at = stepAt(kBegin, phase);

  let tx = local % GROUP_X;
  let ty = (local / GROUP_X) % GROUP_Y;
  // This group's share of each step's positions of k.
  let kGroup = local / (GROUP_X * GROUP_Y);
  let kFirst = kGroup * (K_STEP / K_SPLIT);
  // [channel][vec4 of pixels]
  var acc: array<array<vec4<f32>, 2>, 8>;
  // (A phase without taps, or a split past the end, has no weights to stage.)
  var staged: Staged;
  if (kBegin < kEnd) { staged = stage(copy, at, phase); }
  store(staged, 0u, local);
  workgroupBarrier();
  // Offset (vec4s) of the copy of the tiles this step multiplies.
  var buffer = 0u;
  for (var k0 = kBegin; k0 < kEnd; k0 += K_STEP) {
    // The next step's loads are in flight while this step multiplies.
    at = nextStep(at, phase);
    staged = stage(copy, at, phase);
    // A constant trip count (kFirst is not one to the compiler), so that the loop unrolls.
    for (var kk = 0u; kk < K_STEP / K_SPLIT; kk++) {
      let k = kFirst + kk;
      var w: array<vec4<f32>, 2>;
      var v: array<vec4<f32>, 2>;
      for (var q = 0u; q < THREAD_C / 4u; q++) { w[q] = shared4[buffer + k * (STRIDE_C / 4u) + ty + GROUP_Y * q]; }
      for (var q = 0u; q < THREAD_P / 4u; q++) { v[q] = shared4[buffer + X_TILE + k * (STRIDE_P / 4u) + tx + GROUP_X * q]; }
      for (var i = 0u; i < THREAD_C; i++) {
        let wi = w[i / 4u][i % 4u];
        for (var q = 0u; q < THREAD_P / 4u; q++) { acc[i][q] += wi * v[q]; }
      }
    }
    // One copy: every thread is done reading it before it is overwritten.
    if (BUFFERS == 1u) { workgroupBarrier(); }
    buffer = (buffer + BUFFER_VEC4S) % (BUFFERS * BUFFER_VEC4S);
    store(staged, buffer, local);
    workgroupBarrier();
  }
  if (K_SPLIT > 1u) {
    // Groups 1.. hand their sums to group 0 (THREAD_C x THREAD_P is 4 x 4 here: 4 vec4s).
    let slot = (local - GROUP_X * GROUP_Y) * 4u;
    if (kGroup > 0u) {
      for (var i = 0u; i < 4u; i++) { shared4[slot + i] = acc[i][0]; }
    }
    workgroupBarrier();
    if (kGroup > 0u) { return; }
    for (var g = 1u; g < K_SPLIT; g++) {
      for (var i = 0u; i < 4u; i++) { acc[i][0] += shared4[((g - 1u) * GROUP_X * GROUP_Y + local) * 4u + i]; }
    }
  }

  let transposed = params.transposed != 0u;
  let outPlane = params.outHeight * params.outWidth;
  // A split writes its own partial output; reduce_splits adds the bias and applies the activation.
  let splitBase = split * params.batch * params.outChannels * outPlane;
  let whole = SPLITS == 1u;
  let slope = epilogueSlope();
  for (var j = 0u; j < THREAD_P; j++) {
    let p = p0 + 4u * (tx + GROUP_X * (j / 4u)) + j % 4u;
    if (p >= pixels) { continue; }
    let pn = p / phasePixels;
    let pq = (p % phasePixels) / phase.columns;
    let pr = p % phase.columns;
    let outRow = select(pq, phase.row + params.stride * pq, transposed);
    let outColumn = select(pr, phase.column + params.stride * pr, transposed);
    let base = pn * params.outChannels * outPlane + outRow * params.outWidth + outColumn;
    for (var i = 0u; i < THREAD_C; i++) {
      let co = c0 + 4u * (ty + GROUP_Y * (i / 4u)) + i % 4u;
      if (co >= params.outChannels) { continue; }
      var value = acc[i][j / 4u][j % 4u];
      if (whole && params.hasBias != 0u) { value += bias[co]; }
      out[splitBase + base + co * outPlane] = select(value, epilogue(value, slope), whole);
    }
  }
}

// The sum of the SPLITS partial outputs, plus the bias: one output value per thread.
@compute @workgroup_size(256)
fn reduce_splits(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let outPlane = params.outHeight * params.outWidth;
  let count = params.batch * params.outChannels * outPlane;
  let i = id.x + id.y * groups.x * 256u;
  if (i >= count) { return; }
  var total = 0.0;
  for (var s = 0u; s < SPLITS; s++) { total += partialOutputs[s * count + i]; }
  if (params.hasBias != 0u) { total += bias[(i / outPlane) % params.outChannels]; }
  result[i] = epilogue(total, epilogueSlope());
}
