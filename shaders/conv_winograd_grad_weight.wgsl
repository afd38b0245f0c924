// Winograd F(2x2, 3x3) for the weight gradients of the k4 s2 p1 layers (engine/ops/conv-winograd-grad-weight.ts):
//   dW[a, b, ky, kx] = sum over n, gy, gx of G[n, a, gy, gx] * X[n, b, 2 gy - 1 + ky, 2 gx - 1 + kx],
// G the gradient side [batch, A, GH, GW] (conv2d's dy, convTranspose2d's x) and X the input side [batch, B,
// 2 GH, 2 GW] (conv2d's x, convTranspose2d's dy). With ky = 2u + py, kx = 2v + px and the phase plane
// plane[r, c] = X[2r + py - 1, 2c + px - 1] (the forward Winograd's, conv_winograd.wgsl), each phase
// (py, px) of the kernel is a 2x2 correlation:
//   dW[a, b, 2u + py, 2v + px] = sum over n, gy, gx of G[n, a, gy, gx] * plane[n, b, gy + u, gx + v].
// Cut the sum into 3x3 tiles of G at (3 ty, 3 tx): each is F(2x2, 3x3) with G's tile g as the "filter"
// and the plane's 4x4 tile d as the data, Y = A^T [ (G' g G'^T) . (B^T d B) ] A, 16 multiplies per 36 for
// each (a, b, phase). As 16 GEMMs, products[pos][a][(b, phase)] = sum over tiles t of U[pos][t][a]
// V[pos][t][(b, phase)], reduced over every tile of every image (chunks of images add up: ACCUMULATE).
// B^T is the forward Winograd's (points 0, 1, -1, infinity); G' and A^T go with it (winograd_f2x2_3x3.wgsl).
//
// Layouts: V [16][tiles][B] vec4s over the 4 phases of channel b; U [16][tiles][m] (m: A padded to a
// multiple of 32 with zeros), read as vec4s of 4 a's; products [16][m][B] vec4s over phases. Tiles of
// the images `firstImage` .. `firstImage + images - 1`, padded to a multiple of 4 with zero tiles.

enable subgroups;
diagnostic(off, subgroup_uniformity);

// #include winograd_grad_weight_params

// #include winograd_tiles
// #include winograd_f2x2_3x3

// --- transform_plane: V[pos][t][b] = (B^T d B)[pos] for the 4 phase tiles d of channel b at tile t; one
// thread per (b, t): the 4 phases together read an 8 x 8 patch of X once, and store vec4s.

// X, the input side.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> transformedPlanes: array<vec4<f32>>;

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_plane(@builtin(global_invocation_id) id: vec3<u32>) {
  let b = id.x;
  let t = id.y;
  if (b >= params.bChannels) { return; }
  let at = tilePlace(t);
  let channelStart = (select(0u, at.n, at.present) * params.bChannels + b) * params.inHeight * params.inWidth;
  // [pos]: the 4 phases' values.
  var tiles: array<vec4<f32>, 16>;
  for (var phase = 0u; phase < 4u; phase++) {
    let py = i32(phase / 2u);
    let px = i32(phase % 2u);
    var d: array<vec4<f32>, 4>;
    for (var i = 0; i < 4; i++) {
      let row = 2 * (3 * i32(at.ty) + i) + py - 1;
      var values = vec4<f32>(0.0);
      for (var j = 0; j < 4; j++) {
        let column = 2 * (3 * i32(at.tx) + j) + px - 1;
        let inside = at.present && row >= 0 && row < i32(params.inHeight) && column >= 0 && column < i32(params.inWidth);
        values[j] = select(0.0, x[channelStart + u32(select(0, row * i32(params.inWidth) + column, inside))], inside);
      }
      d[i] = values;
    }
    let transformed = transformedTile(d);
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) { tiles[i * 4u + j][phase] = transformed[i][j]; }
    }
  }
  let plane = params.k * params.bChannels;
  for (var pos = 0u; pos < 16u; pos++) { transformedPlanes[pos * plane + t * params.bChannels + b] = tiles[pos]; }
}

// --- transform_gradient: U[pos][t][a] = (G' g G'^T)[pos] for G's 3x3 tile g of channel a at tile t;
// one thread per (4 consecutive a, t), so that the stores are vec4s.

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
    let channelStart = (select(0u, at.n * params.aChannels + a, present)) * params.gradHeight * params.gradWidth;
    var rows: array<vec4<f32>, 3>;
    for (var i = 0u; i < 3u; i++) {
      let row = 3u * at.ty + i;
      var values = vec3<f32>(0.0);
      for (var j = 0u; j < 3u; j++) {
        let column = 3u * at.tx + j;
        let inside = present && row < params.gradHeight && column < params.gradWidth;
        values[j] = select(0.0, gradient[channelStart + select(0u, row * params.gradWidth + column, inside)], inside);
      }
      // G' along the row now, along the columns below.
      rows[i] = filterTransform(values);
    }
    for (var j = 0u; j < 4u; j++) {
      let column = filterTransform(vec3<f32>(rows[0][j], rows[1][j], rows[2][j]));
      for (var i = 0u; i < 4u; i++) { quads[i * 4u + j][e] = column[i]; }
    }
  }
  let plane = params.k * params.m / 4u;
  for (var pos = 0u; pos < 16u; pos++) { transformedGradients[pos * plane + t * params.m / 4u + quad] = quads[pos]; }
}

// --- multiply: products[pos][a][(b, phase)] = sum over t of U[pos][t][a] V[pos][t][(b, phase)].

// #include winograd_multiply

// --- transform_weight_gradient: dW[a, b] (16 taps) = A^T P A of each phase's products; one thread per
// (b, a), which stores its 4 kernel rows as vec4s.

@group(0) @binding(8) var<storage, read> products: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> weightGradient: array<vec4<f32>>;

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_weight_gradient(@builtin(global_invocation_id) id: vec3<u32>) {
  let b = id.x;
  let a = id.y;
  if (b >= params.bChannels) { return; }
  let plane = params.m * params.bChannels;
  var quads: array<vec4<f32>, 16>;
  for (var pos = 0u; pos < 16u; pos++) { quads[pos] = products[pos * plane + a * params.bChannels + b]; }
  // [ky]: the kernel row's 4 taps.
  var kernelRows: array<vec4<f32>, 4>;
  for (var phase = 0u; phase < 4u; phase++) {
    let py = phase / 2u;
    let px = phase % 2u;
    var rows: array<vec4<f32>, 2>;
    for (var j = 0u; j < 4u; j++) {
      let column = outputTransform(vec4<f32>(quads[j][phase], quads[4u + j][phase], quads[8u + j][phase], quads[12u + j][phase]));
      rows[0][j] = column.x;
      rows[1][j] = column.y;
    }
    for (var u = 0u; u < 2u; u++) {
      let values = outputTransform(rows[u]);
      kernelRows[2u * u + py][px] = values.x;
      kernelRows[2u * u + py][2u + px] = values.y;
    }
  }
  for (var ky = 0u; ky < 4u; ky++) { weightGradient[(a * params.bChannels + b) * 4u + ky] = kernelRows[ky]; }
}
