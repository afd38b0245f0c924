// conv_grad_weight.wgsl's weight gradient as a tiled GEMM through workgroup memory, for GPUs. The
// product is dW[a, c] = sum over r of G[a, r] * X[r, c], with c = (b, ky, kx) (dW's own layout,
// [A, B, kH, kW]) and r = (n, gy, gx) running over the workgroup's chunk of gradient rows:
//   G[a, r] = gradient[n, a, gy, gx],  X[r, c] = input[n, b, gy*s - p + ky, gx*s - p + kx] (0 outside).
// Each step, the 256 threads copy K_STEP positions of r for the tile's TILE_A channels and TILE_B
// columns into workgroup memory (consecutive threads take consecutive gx: contiguous loads), then
// every thread multiplies its THREAD_A x THREAD_B outputs from there. The next step's values are
// loaded into registers before the multiplications, so global latency overlaps arithmetic.
// Why a second kernel: the register-blocked ones (conv_grad_weight*.wgsl) were sized for lavapipe's
// two cores and left an H200 15-34x behind cuDNN (bench/RESULTS.md). Same bindings and partial-sum
// layout as conv_grad_weight.wgsl, whose `reduce_chunks` adds the chunks.

// #include conv_grad_weight_params

@group(0) @binding(0) var<storage, read> gradient: array<f32>;
@group(0) @binding(1) var<storage, read> input: array<f32>;
// partial: [chunks, A, B, kH, kW]
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// Outputs per thread: THREAD_A channels x THREAD_B columns (4 or 8 each), in vec4s of 4 neighbours:
// thread (tx, ty) of the 16 x 16 owns the vec4s ty + 16 q of the tile's channels and tx + 16 q of its
// columns. Each step then reads its operands from workgroup memory as vec4s (a quarter of the
// reads), and the 16 threads reading one row read 16 consecutive vec4s (no bank conflicts).
override THREAD_A: u32 = 4u;
override THREAD_B: u32 = 4u;
override TILE_A: u32 = 16u * THREAD_A;
override TILE_B: u32 = 16u * THREAD_B;
// Positions of r per step: tiles of 1024 floats.
override K_STEP: u32 = 1024u / max(TILE_A, TILE_B);
// Tile rows are 4 words (one vec4) longer than the tile, so that the K_STEP consecutive positions
// that neighbouring threads store for one channel fall into different banks.
override STRIDE_A: u32 = TILE_A + 4u;
override STRIDE_B: u32 = TILE_B + 4u;
// Values each thread copies per step, and the tile rows (channels or columns) one pass of threads covers.
override LOADS_A: u32 = K_STEP * TILE_A / 256u;
override LOADS_B: u32 = K_STEP * TILE_B / 256u;
override LOAD_ROWS: u32 = 256u / K_STEP;

// [k][a] and [k][c] in vec4s: 16 x 68 or 8 x 132 floats at most (8.5 KiB together, within WebGPU's
// 16 KiB default).
var<workgroup> tileG: array<vec4<f32>, 272>;
var<workgroup> tileX: array<vec4<f32>, 272>;

// The thread's part of the copy: its position of r in the step and the offsets of the channels and
// columns it copies.
struct Copy {
  k: u32,
  gradOffset: array<u32, 4>,
  gradValid: array<bool, 4>,
  inOffset: array<u32, 4>,
  ky: array<i32, 4>,
  kx: array<i32, 4>,
  columnValid: array<bool, 4>,
}

// One step's values for the thread to copy.
struct Staged {
  g: array<f32, 4>,
  x: array<f32, 4>,
}

// Position r of the reduction as (n, gy, gx), and moving it on by a step given in the same form (the
// loop carries positions rather than dividing).
fn splitR(r: u32) -> vec3<u32> {
  let row = r / params.gradWidth;
  return vec3<u32>(row / params.gradHeight, row % params.gradHeight, r % params.gradWidth);
}

fn advance(at: vec3<u32>, step: vec3<u32>) -> vec3<u32> {
  var next = at + step;
  if (next.z >= params.gradWidth) { next.z -= params.gradWidth; next.y += 1u; }
  if (next.y >= params.gradHeight) { next.y -= params.gradHeight; next.x += 1u; }
  return next;
}

// The values to copy at position `at` (r < rEnd, else zeros) for all the thread's channels and columns.
fn stage(copy: Copy, r: u32, rEnd: u32, at: vec3<u32>) -> Staged {
  var staged: Staged;
  if (r >= rEnd) { return staged; }
  let gradBase = (at.x * params.gradChannels * params.gradHeight + at.y) * params.gradWidth + at.z;
  for (var m = 0u; m < LOADS_A; m++) {
    if (copy.gradValid[m]) { staged.g[m] = gradient[gradBase + copy.gradOffset[m]]; }
  }
  let inBase = at.x * params.inChannels * params.inHeight * params.inWidth;
  let iy0 = i32(at.y * params.stride) - i32(params.padding);
  let ix0 = i32(at.z * params.stride) - i32(params.padding);
  for (var m = 0u; m < LOADS_B; m++) {
    let iy = iy0 + copy.ky[m];
    let ix = ix0 + copy.kx[m];
    if (copy.columnValid[m] && iy >= 0 && iy < i32(params.inHeight) && ix >= 0 && ix < i32(params.inWidth)) {
      staged.x[m] = input[inBase + copy.inOffset[m] + u32(iy) * params.inWidth + u32(ix)];
    }
  }
  return staged;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local: u32) {
  let taps = params.kernelHeight * params.kernelWidth;
  let columns = params.inChannels * taps;
  let a0 = group.y * TILE_A;
  let c0 = group.x * TILE_B;
  let rowStart = group.z * params.rowsPerChunk;
  let rowEnd = min(rowStart + params.rowsPerChunk, params.batch * params.gradHeight);
  // Uniform (workgroup values only), as the barriers in the loop over r need.
  let rStart = rowStart * params.gradWidth;
  let rEnd = rowEnd * params.gradWidth;

  var copy: Copy;
  copy.k = local % K_STEP;
  let loadRow = local / K_STEP;
  let gradPlane = params.gradHeight * params.gradWidth;
  for (var m = 0u; m < LOADS_A; m++) {
    let a = a0 + loadRow + LOAD_ROWS * m;
    copy.gradValid[m] = a < params.gradChannels;
    copy.gradOffset[m] = a * gradPlane;
  }
  for (var m = 0u; m < LOADS_B; m++) {
    let c = c0 + loadRow + LOAD_ROWS * m;
    let b = c / taps;
    let tap = c - b * taps;
    copy.columnValid[m] = c < columns;
    copy.inOffset[m] = b * params.inHeight * params.inWidth;
    copy.ky[m] = i32(tap / params.kernelWidth);
    copy.kx[m] = i32(tap % params.kernelWidth);
  }

  let tx = local % 16u;
  let ty = local / 16u;
  // [channel][vec4 of columns]
  var acc: array<array<vec4<f32>, 2>, 8>;
  let step = splitR(K_STEP);
  var at = splitR(rStart + copy.k);
  var staged = stage(copy, rStart + copy.k, rEnd, at);
  for (var r0 = rStart; r0 < rEnd; r0 += K_STEP) {
    for (var m = 0u; m < LOADS_A; m++) {
      let i = copy.k * STRIDE_A + loadRow + LOAD_ROWS * m;
      tileG[i / 4u][i % 4u] = staged.g[m];
    }
    for (var m = 0u; m < LOADS_B; m++) {
      let i = copy.k * STRIDE_B + loadRow + LOAD_ROWS * m;
      tileX[i / 4u][i % 4u] = staged.x[m];
    }
    workgroupBarrier();
    // The next step's loads are in flight while this step multiplies.
    at = advance(at, step);
    staged = stage(copy, r0 + K_STEP + copy.k, rEnd, at);
    for (var k = 0u; k < K_STEP; k++) {
      var g: array<vec4<f32>, 2>;
      var x: array<vec4<f32>, 2>;
      for (var q = 0u; q < THREAD_A / 4u; q++) { g[q] = tileG[k * (STRIDE_A / 4u) + ty + 16u * q]; }
      for (var q = 0u; q < THREAD_B / 4u; q++) { x[q] = tileX[k * (STRIDE_B / 4u) + tx + 16u * q]; }
      for (var i = 0u; i < THREAD_A; i++) {
        let gi = g[i / 4u][i % 4u];
        for (var q = 0u; q < THREAD_B / 4u; q++) { acc[i][q] += gi * x[q]; }
      }
    }
    workgroupBarrier();
  }

  let chunkStart = group.z * params.gradChannels * columns;
  for (var i = 0u; i < THREAD_A; i++) {
    let a = a0 + 4u * (ty + 16u * (i / 4u)) + i % 4u;
    if (a >= params.gradChannels) { continue; }
    for (var j = 0u; j < THREAD_B; j++) {
      let c = c0 + 4u * (tx + 16u * (j / 4u)) + j % 4u;
      if (c < columns) { partial[chunkStart + a * columns + c] = acc[i][j / 4u][j % 4u]; }
    }
  }
}
