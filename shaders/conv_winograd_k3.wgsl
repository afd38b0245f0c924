// Winograd F(2x2, 3x3) for the k3 s1 p1 gathers (engine/ops/conv-winograd-k3.ts): conv2d keeping the
// size, and convTranspose2d with the same geometry (conv2d's grad-input), which is a conv2d with the
// kernel flipped: out[co, y, x] = sum over ci, a, b of g[a][b] * x[ci, y - 1 + a, x - 1 + b], g[a][b] =
// w[a][b] (conv2d) or w[2 - a][2 - b] (convTranspose2d). Each 4x4 input tile at (2 ty - 1, 2 tx - 1)
// gives 2x2 outputs: Y = A^T [ (G' g G'^T) . (B^T d B) ] A, 16 multiplies per 36 for each (ci, co) pair,
// as 16 GEMMs U[pos] (k = Cin x m) x V[pos] (k x tiles); transforms in winograd_tiles.wgsl and
// winograd_f2x2_3x3.wgsl.
//
// Layouts as conv_winograd.wgsl's: U [16][k][m] (m: Cout padded to a multiple of 32 with zeros), V
// [16][k][tiles], products [16][m][tiles]; tiles padded to a multiple of 4 with zero tiles.

enable subgroups;
diagnostic(off, subgroup_uniformity);

// #include winograd_gather_params

// #include winograd_tiles
// #include winograd_f2x2_3x3

// --- transform_weights: U[pos][ci][m] = (G' g G'^T)[pos] for the 3x3 filter g of (ci, m); one thread per
// 4 consecutive m, so that the stores are vec4s.

@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> transformedWeights: array<vec4<f32>>;

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_weights(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  let ci = id.y;
  if (4u * quad >= params.m) { return; }
  let flipped = params.transposed != 0u;
  // [pos]: the 4 channels' values.
  var quads: array<vec4<f32>, 16>;
  for (var e = 0u; e < 4u; e++) {
    let co = 4u * quad + e;
    let present = co < params.realM;
    let pair = select(ci * params.outChannels + co, co * params.inChannels + ci, params.outputIsFirst != 0u);
    // Rows of G' g: the filter's rows a (zero for padding channels), transformed along them.
    var rows: array<vec4<f32>, 3>;
    for (var a = 0u; a < 3u; a++) {
      var values = vec3<f32>(0.0);
      for (var b = 0u; b < 3u; b++) {
        let tap = select(a * 3u + b, (2u - a) * 3u + 2u - b, flipped);
        values[b] = select(0.0, weight[select(0u, pair * 9u + tap, present)], present);
      }
      rows[a] = filterTransform(values);
    }
    for (var j = 0u; j < 4u; j++) {
      let column = filterTransform(vec3<f32>(rows[0][j], rows[1][j], rows[2][j]));
      for (var i = 0u; i < 4u; i++) { quads[i * 4u + j][e] = column[i]; }
    }
  }
  let plane = params.k * params.m / 4u;
  for (var pos = 0u; pos < 16u; pos++) { transformedWeights[pos * plane + ci * params.m / 4u + quad] = quads[pos]; }
}

// --- transform_input (shaders/winograd_gather_input.wgsl): V[pos][ci][t] = (B^T d B)[pos] for the
// input tile d of (ci, t): the 4x4 input at (2 ty - 1, 2 tx - 1).

// #include winograd_gather_input

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_input(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  let ci = id.y;
  if (4u * quad >= params.tiles) { return; }
  transformInputTiles(quad, ci, ci, 2, 1, vec2<i32>(-1));
}

// --- multiply (shaders/winograd_multiply.wgsl): products[pos][m][t] = sum over ci of U[pos][ci][m] V[pos][ci][t].

// #include winograd_multiply

// --- transform_output: the 2x2 outputs A^T P A of (co, t), plus bias and activation; one thread per 4
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
  let biasValue = select(0.0, bias[co], params.hasBias != 0u);
  let slope = epilogueSlope();
  let plane = params.m * params.tiles / 4u;
  var quads: array<vec4<f32>, 16>;
  for (var pos = 0u; pos < 16u; pos++) { quads[pos] = products[pos * plane + co * params.tiles / 4u + quad]; }
  var at = tilePlace(4u * quad);
  for (var e = 0u; e < 4u; e++) {
    if (!at.present) { break; }
    var rows: array<vec4<f32>, 2>;
    for (var j = 0u; j < 4u; j++) {
      let column = outputTransform(vec4<f32>(quads[j][e], quads[4u + j][e], quads[8u + j][e], quads[12u + j][e]));
      rows[0][j] = column.x;
      rows[1][j] = column.y;
    }
    let channelStart = (at.n * params.outChannels + co) * params.outHeight * params.outWidth;
    for (var i = 0u; i < 2u; i++) {
      let row = 2u * at.ty + i;
      let values = outputTransform(rows[i]);
      for (var j = 0u; j < 2u; j++) {
        let column = 2u * at.tx + j;
        if (row < params.outHeight && column < params.outWidth) {
          out[channelStart + row * params.outWidth + column] = epilogue(values[j] + biasValue, slope);
        }
      }
    }
    at = nextTile(at);
  }
}
