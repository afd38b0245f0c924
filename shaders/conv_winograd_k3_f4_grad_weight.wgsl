// Winograd F(3x3, 4x4) for the weight gradients of the k3 s1 p1 layers (engine/ops/conv-winograd-grad-weight.ts),
// the sums of conv_winograd_k3_grad_weight.wgsl cut into 4x4 tiles of the gradient side G at (4 ty, 4 tx),
// each with X's 6x6 tile d at (4 ty - 1, 4 tx - 1): 36 multiplies per 144 for each (a, b), against
// F(3x3, 2x2)'s 16 per 36. The matrices are F(4x4, 3x3)'s (conv_winograd_k3_f4.wgsl) with the roles of the
// filter and the outputs swapped: Y = G^T [ (A g A^T) . (B^T d B) ] G, g G's 4x4 tile.
//
// Layouts as conv_winograd_k3_grad_weight.wgsl's with 36 positions: V [36][tiles][B], U [36][tiles][m],
// products [36][m][B], all as vec4s.

enable subgroups;
diagnostic(off, subgroup_uniformity);

// #include winograd_grad_weight_params

// #include winograd_tiles

// #include winograd_b6

// A v for a column or row v of 4 gradient values (the rows of A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0;
// 0 1 -1 8 -8 1], read down).
fn gradientTransform6(v: vec4<f32>) -> array<f32, 6> {
  let even = v.x + v.z;
  let odd = v.y + v.w;
  let evenTwos = v.x + 4.0 * v.z;
  let oddTwos = 2.0 * v.y + 8.0 * v.w;
  return array<f32, 6>(v.x, even + odd, even - odd, evenTwos + oddTwos, evenTwos - oddTwos, v.w);
}

// G^T v for a column or row v of 6 products (G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6;
// 1/24 -1/12 1/6; 0 0 1], read down).
fn tapTransform(v: array<f32, 6>) -> vec3<f32> {
  let sum12 = v[1] + v[2];
  let difference12 = v[2] - v[1];
  let sum34 = v[3] + v[4];
  let difference34 = v[3] - v[4];
  return vec3<f32>(0.25 * v[0] - sum12 / 6.0 + sum34 / 24.0, difference12 / 6.0 + difference34 / 12.0, sum34 / 6.0 - sum12 / 6.0 + v[5]);
}

// --- transform_plane: V[pos][t][b] = (B^T d B)[pos] for X's 6x6 tile d of channel b at tile t; one thread
// per (4 consecutive b, t), so that the stores are vec4s.

// The input side X (`x`, as winograd_b6's transformedTile6 reads it).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> transformedPlanes: array<vec4<f32>>;

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_plane(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  let t = id.y;
  if (4u * quad >= params.bChannels) { return; }
  let at = tilePlace(t);
  // [pos]: the 4 b's values.
  var tiles: array<vec4<f32>, 36>;
  for (var e = 0u; e < 4u; e++) {
    let channelStart = (select(0u, at.n, at.present) * params.bChannels + 4u * quad + e) * params.inHeight * params.inWidth;
    let tile = transformedTile6(channelStart, 4 * i32(at.ty) - 1, 4 * i32(at.tx) - 1, params.inHeight, params.inWidth, at.present);
    for (var i = 0u; i < 6u; i++) {
      for (var j = 0u; j < 6u; j++) { tiles[i * 6u + j][e] = tile[i][j]; }
    }
  }
  let plane = params.k * params.bChannels / 4u;
  for (var pos = 0u; pos < 36u; pos++) { transformedPlanes[pos * plane + t * params.bChannels / 4u + quad] = tiles[pos]; }
}

// --- transform_gradient: U[pos][t][a] = (A g A^T)[pos] for G's 4x4 tile g of channel a at tile t; one
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
  var quads: array<vec4<f32>, 36>;
  for (var e = 0u; e < 4u; e++) {
    let a = 4u * quad + e;
    let present = at.present && a < params.aChannels;
    let channelStart = select(0u, at.n * params.aChannels + a, present) * params.gradHeight * params.gradWidth;
    var rows: array<array<f32, 6>, 4>;
    for (var i = 0u; i < 4u; i++) {
      let row = 4u * at.ty + i;
      var values = vec4<f32>(0.0);
      for (var j = 0u; j < 4u; j++) {
        let column = 4u * at.tx + j;
        let inside = present && row < params.gradHeight && column < params.gradWidth;
        values[j] = select(0.0, gradient[channelStart + select(0u, row * params.gradWidth + column, inside)], inside);
      }
      // A along the row now, along the columns below.
      rows[i] = gradientTransform6(values);
    }
    for (var j = 0u; j < 6u; j++) {
      let column = gradientTransform6(vec4<f32>(rows[0][j], rows[1][j], rows[2][j], rows[3][j]));
      for (var i = 0u; i < 6u; i++) { quads[i * 6u + j][e] = column[i]; }
    }
  }
  let plane = params.k * params.m / 4u;
  for (var pos = 0u; pos < 36u; pos++) { transformedGradients[pos * plane + t * params.m / 4u + quad] = quads[pos]; }
}

// --- multiply: products[pos][a][b] = sum over t of U[pos][t][a] V[pos][t][b].

// #include winograd_multiply

// --- transform_weight_gradient: dW[a, b] (9 taps) = G^T P G of (a, b); one thread per (4 consecutive b,
// a), whose 36 taps are contiguous and stored as 9 vec4s.

@group(0) @binding(8) var<storage, read> products: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> weightGradient: array<vec4<f32>>;

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_weight_gradient(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  let a = id.y;
  if (4u * quad >= params.bChannels) { return; }
  let plane = params.m * params.bChannels / 4u;
  var quads: array<vec4<f32>, 36>;
  for (var pos = 0u; pos < 36u; pos++) { quads[pos] = products[pos * plane + a * params.bChannels / 4u + quad]; }
  // The 4 b's 9 taps each, in order: tap f of b 4 quad + e is element e * 9 + f.
  var taps: array<vec4<f32>, 9>;
  for (var e = 0u; e < 4u; e++) {
    var rows: array<array<f32, 6>, 3>;
    for (var j = 0u; j < 6u; j++) {
      let column = tapTransform(array<f32, 6>(quads[j][e], quads[6u + j][e], quads[12u + j][e], quads[18u + j][e], quads[24u + j][e], quads[30u + j][e]));
      rows[0][j] = column.x;
      rows[1][j] = column.y;
      rows[2][j] = column.z;
    }
    for (var ky = 0u; ky < 3u; ky++) {
      let values = tapTransform(rows[ky]);
      for (var kx = 0u; kx < 3u; kx++) {
        let f = e * 9u + ky * 3u + kx;
        taps[f / 4u][f % 4u] = values[kx];
      }
    }
  }
  let start = (a * params.bChannels + 4u * quad) * 9u / 4u;
  for (var v = 0u; v < 9u; v++) { weightGradient[start + v] = taps[v]; }
}
