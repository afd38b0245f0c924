// Winograd F(3x3, 2x2) for the k4 s2 p1 gathers (engine/ops/conv-winograd.ts): conv2d halving the
// size and convTranspose2d doubling it, and so their grad-inputs.
//
// Both are sums of 2x2 stride-1 convolutions over a "plane" of the input:
// - conv2d: output (oy, ox) = sum over input phases (py, px) and taps a, b of
//   w[ky = 2a + py, kx = 2b + px] * plane[oy + a, ox + b], plane[r, c] = x[2r + py - 1, 2c + px - 1];
//   the reduction runs over k = (ci, py, px), 4 per input channel.
// - convTranspose2d: output phase q = (qy, qx), position v = (vy, vx): sum over taps a, b of
//   w[ky = 3 - qy - 2a, kx = 3 - qx - 2b] * plane[vy + a, vx + b], plane[r, c] = x[r - 1, c - 1], and
//   v = (oy + qy) / 2 (output row oy = 2u + qy is v = u + qy): every phase reads the same plane, so the
//   4 phases are 4 x Cout "channels" m = q * Cout + co of one GEMM, reduced over k = ci.
// Each 4x4 tile of the plane at (3 ty, 3 tx) gives 3x3 outputs: Y = A^T [ (G g G^T) . (B^T d B) ] A, 16
// multiplies per 36 for each (k, m) pair, as 16 GEMMs U[pos] (k x m) x V[pos] (k x tiles). With
// points 0, 1, -1 and infinity (every entry 0, +-1 or 1/2, so the transforms add little rounding;
// test/conv.test.ts holds them to the direct gathers' tolerances):
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 -1 0 1], G = [1 0; 1/2 1/2; 1/2 -1/2; 0 1],
//   A^T = [1 1 1 0; 0 1 -1 0; 0 1 1 1].
//
// Layouts: U [16][k][m] (m padded to a multiple of 32 with zeros), V [16][k][tiles], products
// [16][m][tiles]; tiles (of the images `firstImage` .. `firstImage + images - 1`) are padded to a
// multiple of 4 with zero tiles, so that `multiply` reads and writes vec4s of 4 tiles.

enable subgroups;
diagnostic(off, subgroup_uniformity);

// #include winograd_gather_params
// #include winograd_f3x3_2x2

// --- transform_weights: U[pos][k][m] = (G g G^T)[pos] for the 2x2 filter g of (k, m); one thread per
// 4 consecutive m, so that the stores are vec4s.

// Read from the op's own weight tensor: the direct gathers' packed copy would be one more pass.
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> transformedWeights: array<vec4<f32>>;

// The weight of gather input channel ci, tap (ky, kx), output channel co.
fn weightAt(ci: u32, ky: u32, kx: u32, co: u32) -> f32 {
  let pair = select(ci * params.outChannels + co, co * params.inChannels + ci, params.outputIsFirst != 0u);
  return weight[(pair * 4u + ky) * 4u + kx];
}

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_weights(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  let k = id.y;
  if (4u * quad >= params.m) { return; }
  // [pos]: the 4 channels' values.
  var quads: array<vec4<f32>, 16>;
  for (var e = 0u; e < 4u; e++) {
    let m = 4u * quad + e;
    // g[a][b]: kernel row a, column b of the 2x2 filter (zero for padding channels).
    var g = array<vec2<f32>, 2>(vec2<f32>(0.0), vec2<f32>(0.0));
    if (m < params.realM) {
      for (var a = 0u; a < 2u; a++) {
        for (var b = 0u; b < 2u; b++) {
          if (params.transposed == 0u) {
            // k = (ci, py, px), m = co.
            g[a][b] = weightAt(k / 4u, 2u * a + (k / 2u) % 2u, 2u * b + k % 2u, m);
          } else {
            // k = ci, m = (qy, qx) * outChannels + co.
            let q = m / params.outChannels;
            g[a][b] = weightAt(k, 3u - q / 2u - 2u * a, 3u - q % 2u - 2u * b, m - q * params.outChannels);
          }
        }
      }
    }
    // (G g G^T)[i][j]: rows of G g first, then their G^T columns.
    let rows = array<vec2<f32>, 4>(g[0], 0.5 * (g[0] + g[1]), 0.5 * (g[0] - g[1]), g[1]);
    for (var i = 0u; i < 4u; i++) {
      let r = rows[i];
      let values = filterTransform(r);
      for (var j = 0u; j < 4u; j++) { quads[i * 4u + j][e] = values[j]; }
    }
  }
  let plane = params.k * params.m / 4u;
  for (var pos = 0u; pos < 16u; pos++) { transformedWeights[pos * plane + k * params.m / 4u + quad] = quads[pos]; }
}

// --- transform_input (shaders/winograd_gather_input.wgsl): V[pos][k][t] = (B^T d B)[pos] for the plane
// tile d of (k, t).

// #include winograd_tiles
// #include winograd_gather_input

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_input(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  let k = id.y;
  if (4u * quad >= params.tiles) { return; }
  // Input row = scale * plane row + rowOffset (and columns alike): conv2d's plane (py, px) of k =
  // (ci, py, px) takes every other row and column; convTranspose2d's plane is the input padded by one.
  let transposed = params.transposed != 0u;
  let offset = select(vec2<i32>(i32((k / 2u) % 2u), i32(k % 2u)), vec2<i32>(0), transposed) - 1;
  transformInputTiles(quad, k, select(k / 4u, k, transposed), 3, select(2, 1, transposed), offset);
}

// --- multiply (shaders/winograd_multiply.wgsl): products[pos][m][t] = sum over k of U[pos][k][m] V[pos][k][t].

// #include winograd_multiply

// --- transform_output: the 3x3 outputs A^T P A of (m, t), plus bias and activation; one thread per 4
// consecutive tiles, which load their products as vec4s.

@group(0) @binding(8) var<storage, read> products: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> bias: array<f32>;
@group(0) @binding(10) var<storage, read_write> out: array<f32>;

// #include conv_epilogue

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_output(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  let co = id.y;
  let realTiles = params.images * params.tilesY * params.tilesX;
  if (4u * quad >= realTiles) { return; }
  let transposed = params.transposed != 0u;
  let step = select(1, 2, transposed);
  let biasValue = select(0.0, bias[co], params.hasBias != 0u);
  let slope = epilogueSlope();
  let plane = params.m * params.tiles / 4u;
  // convTranspose2d's 4 output phases (m = q * outChannels + co) in one thread: their outputs
  // interleave, and threads writing alternate columns of one cache line on both cores took 2x the
  // time per byte of conv2d's transform.
  for (var q = 0u; q < select(1u, 4u, transposed); q++) {
    let m = q * params.outChannels + co;
    var quads: array<vec4<f32>, 16>;
    for (var pos = 0u; pos < 16u; pos++) { quads[pos] = products[pos * plane + m * params.tiles / 4u + quad]; }
    // Output row = 2 * (plane row - qy) + qy for convTranspose2d's phase (qy, qx); the plane row for conv2d.
    let qy = i32(q / 2u);
    let qx = i32(q % 2u);
    var at = tilePlace(4u * quad);
    for (var e = 0u; e < 4u; e++) {
      if (!at.present) { break; }
      var rows: array<vec4<f32>, 3>;
      for (var j = 0u; j < 4u; j++) {
        let column = outputTransform(vec4<f32>(quads[j][e], quads[4u + j][e], quads[8u + j][e], quads[12u + j][e]));
        rows[0][j] = column.x;
        rows[1][j] = column.y;
        rows[2][j] = column.z;
      }
      let channelStart = (at.n * params.outChannels + co) * params.outHeight * params.outWidth;
      for (var i = 0; i < 3; i++) {
        let row = step * (3 * i32(at.ty) + i - qy) + qy;
        let values = outputTransform(rows[i]);
        for (var j = 0; j < 3; j++) {
          let column = step * (3 * i32(at.tx) + j - qx) + qx;
          if (row >= 0 && row < i32(params.outHeight) && column >= 0 && column < i32(params.outWidth)) {
            out[channelStart + u32(row) * params.outWidth + u32(column)] = epilogue(values[j] + biasValue, slope);
          }
        }
      }
      at = nextTile(at);
    }
  }
}
