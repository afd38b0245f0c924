// Included by the Winograd gathers, conv_winograd.wgsl and conv_winograd_k3.wgsl (`// #include
// winograd_gather_input`, beside winograd_tiles): their transform_input's body. V[pos][k][t] = (B^T d B)[pos]
// for the 4x4 input tile d of reduction row k and tile t; one thread per 4 consecutive tiles, so that
// the stores are vec4s (lavapipe stores lane by lane, each checked).

@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> transformedInput: array<vec4<f32>>;

// Tiles 4 quad .. 4 quad + 3 of row k, read from input channel ci: tile (ty, tx)'s element (i, j) is
// x at row scale * (tileStep * ty + i) + offset.x and column scale * (tileStep * tx + j) + offset.y
// (zero outside the input).
fn transformInputTiles(quad: u32, k: u32, ci: u32, tileStep: i32, scale: i32, offset: vec2<i32>) {
  // [pos]: the 4 tiles' values.
  var tiles: array<vec4<f32>, 16>;
  var at = tilePlace(4u * quad);
  for (var e = 0u; e < 4u; e++) {
    // Padding tiles read image 0 (and multiply by nothing: they are zeros).
    let channelStart = (select(0u, at.n, at.present) * params.inChannels + ci) * params.inHeight * params.inWidth;
    var d: array<vec4<f32>, 4>;
    for (var i = 0; i < 4; i++) {
      let row = scale * (tileStep * i32(at.ty) + i) + offset.x;
      var values = vec4<f32>(0.0);
      for (var j = 0; j < 4; j++) {
        let column = scale * (tileStep * i32(at.tx) + j) + offset.y;
        let inside = at.present && row >= 0 && row < i32(params.inHeight) && column >= 0 && column < i32(params.inWidth);
        values[j] = select(0.0, x[channelStart + u32(select(0, row * i32(params.inWidth) + column, inside))], inside);
      }
      d[i] = values;
    }
    let transformed = transformedTile(d);
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) { tiles[i * 4u + j][e] = transformed[i][j]; }
    }
    at = nextTile(at);
  }
  let plane = params.k * params.tiles / 4u;
  for (var pos = 0u; pos < 16u; pos++) { transformedInput[pos * plane + k * params.tiles / 4u + quad] = tiles[pos]; }
}
