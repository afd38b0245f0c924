// Winograd F(3x3, 2x2) for the weight gradients of the k3 s1 p1 layers (engine/ops/conv-winograd-grad-weight.ts):
//   dW[a, b, ky, kx] = sum over n, y, x of G[n, a, y, x] * X[n, b, y - 1 + ky, x - 1 + kx],
// G the gradient side [batch, A, H, W] (conv2d's dy, convTranspose2d's x) and X the input side [batch, B,
// H, W]. Cut the sum into 2x2 tiles of G at (2 ty, 2 tx): each is F(3x3, 2x2) with G's tile g as the
// "filter" and X's 4x4 tile d at (2 ty - 1, 2 tx - 1) as the data, Y = A^T [ (G g G^T) . (B^T d B) ] A,
// 16 multiplies per 36 for each (a, b) (transforms: winograd_tiles.wgsl, winograd_f3x3_2x2.wgsl).
// As 16 GEMMs, products[pos][a][b] = sum over tiles t of U[pos][t][a] V[pos][t][b], reduced over every
// tile of every image (chunks of images add up: ACCUMULATE).
//
// Layouts: V [16][tiles][B] as vec4s of 4 b's; U [16][tiles][m] (m: A padded to a multiple of 32 with
// zeros) as vec4s of 4 a's; products [16][m][B] as vec4s of 4 b's. Tiles of the images `firstImage` ..
// `firstImage + images - 1`, padded to a multiple of 4 with zero tiles.

enable subgroups;
diagnostic(off, subgroup_uniformity);

// #include winograd_grad_weight_params

// #include winograd_tiles
// #include winograd_f3x3_2x2

// --- transform_plane: V[pos][t][b] = (B^T d B)[pos] for X's tile d of channel b at tile t; one thread
// per (4 consecutive b, t), so that the stores are vec4s.

// X, the input side.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> transformedPlanes: array<vec4<f32>>;

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_plane(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  let t = id.y;
  if (4u * quad >= params.bChannels) { return; }
  let at = tilePlace(t);
  // [pos]: the 4 b's values.
  var tiles: array<vec4<f32>, 16>;
  for (var e = 0u; e < 4u; e++) {
    let channelStart = (select(0u, at.n, at.present) * params.bChannels + 4u * quad + e) * params.inHeight * params.inWidth;
    var d: array<vec4<f32>, 4>;
    for (var i = 0; i < 4; i++) {
      let row = 2 * i32(at.ty) + i - 1;
      var values = vec4<f32>(0.0);
      for (var j = 0; j < 4; j++) {
        let column = 2 * i32(at.tx) + j - 1;
        let inside = at.present && row >= 0 && row < i32(params.inHeight) && column >= 0 && column < i32(params.inWidth);
        values[j] = select(0.0, x[channelStart + u32(select(0, row * i32(params.inWidth) + column, inside))], inside);
      }
      d[i] = values;
    }
    let transformed = transformedTile(d);
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) { tiles[i * 4u + j][e] = transformed[i][j]; }
    }
  }
  let plane = params.k * params.bChannels / 4u;
  for (var pos = 0u; pos < 16u; pos++) { transformedPlanes[pos * plane + t * params.bChannels / 4u + quad] = tiles[pos]; }
}

// --- transform_gradient: U[pos][t][a] = (G g G^T)[pos] for G's 2x2 tile g of channel a at tile t; one
// thread per (4 consecutive a, t), so that the stores are vec4s.

@group(0) @binding(3) var<storage, read> gradient: array<f32>;
@group(0) @binding(4) var<storage, read_write> transformedGradients: array<vec4<f32>>;

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_gradient(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  let t = id.y;
  if (4u * quad >= params.m) { return; }
  let at = tilePlace(t);
  // [pos]: the 4 a's values.
  var quads: array<vec4<f32>, 16>;
  for (var e = 0u; e < 4u; e++) {
    let a = 4u * quad + e;
    let present = at.present && a < params.aChannels;
    let channelStart = select(0u, at.n * params.aChannels + a, present) * params.gradHeight * params.gradWidth;
    var rows: array<vec4<f32>, 2>;
    for (var i = 0u; i < 2u; i++) {
      let row = 2u * at.ty + i;
      var values = vec2<f32>(0.0);
      for (var j = 0u; j < 2u; j++) {
        let column = 2u * at.tx + j;
        let inside = present && row < params.gradHeight && column < params.gradWidth;
        values[j] = select(0.0, gradient[channelStart + select(0u, row * params.gradWidth + column, inside)], inside);
      }
      // G along the row now, along the columns below.
      rows[i] = filterTransform(values);
    }
    for (var j = 0u; j < 4u; j++) {
      let column = filterTransform(vec2<f32>(rows[0][j], rows[1][j]));
      for (var i = 0u; i < 4u; i++) { quads[i * 4u + j][e] = column[i]; }
    }
  }
  let plane = params.k * params.m / 4u;
  for (var pos = 0u; pos < 16u; pos++) { transformedGradients[pos * plane + t * params.m / 4u + quad] = quads[pos]; }
}

// --- multiply: products[pos][a][b] = sum over t of U[pos][t][a] V[pos][t][b].

// #include winograd_multiply

// --- transform_weight_gradient: dW[a, b] (9 taps) = A^T P A of (a, b); one thread per (4 consecutive b,
// a), whose 36 taps are contiguous and stored as 9 vec4s.

@group(0) @binding(8) var<storage, read> products: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> weightGradient: array<vec4<f32>>;

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_weight_gradient(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  let a = id.y;
  if (4u * quad >= params.bChannels) { return; }
  let plane = params.m * params.bChannels / 4u;
  var quads: array<vec4<f32>, 16>;
  for (var pos = 0u; pos < 16u; pos++) { quads[pos] = products[pos * plane + a * params.bChannels / 4u + quad]; }
  // The 4 b's 9 taps each, in order: tap f of b 4 quad + e is element e * 9 + f.
  var taps: array<vec4<f32>, 9>;
  for (var e = 0u; e < 4u; e++) {
    var rows: array<vec4<f32>, 3>;
    for (var j = 0u; j < 4u; j++) {
      let column = outputTransform(vec4<f32>(quads[j][e], quads[4u + j][e], quads[8u + j][e], quads[12u + j][e]));
      rows[0][j] = column.x;
      rows[1][j] = column.y;
      rows[2][j] = column.z;
    }
    for (var ky = 0u; ky < 3u; ky++) {
      let values = outputTransform(rows[ky]);
      for (var kx = 0u; kx < 3u; kx++) {
        let f = e * 9u + ky * 3u + kx;
        taps[f / 4u][f % 4u] = values[kx];
      }
    }
  }
  let start = (a * params.bChannels + 4u * quad) * 9u / 4u;
  for (var v = 0u; v < 9u; v++) { weightGradient[start + v] = taps[v]; }
}
