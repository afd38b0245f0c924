// Included by the conv_winograd*.wgsl shaders (`// #include winograd_tiles`): the
// data transform B^T of F(3x3, 2x2) and F(2x2, 3x3) alike (points 0, 1, -1, infinity), and where a tile
// of a chunk of images lies (params.tilesY tile rows from firstTileRow, tilesX, firstImage and images).

// B^T v for a column or row v of 4.
fn inputTransform(v: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(v.x - v.z, v.y + v.z, v.z - v.y, v.w - v.y);
}

// B^T d B for a 4x4 tile d given as its rows: B^T along each row, then along each column.
fn transformedTile(d: array<vec4<f32>, 4>) -> array<vec4<f32>, 4> {
  let rows = array<vec4<f32>, 4>(inputTransform(d[0]), inputTransform(d[1]), inputTransform(d[2]), inputTransform(d[3]));
  var result: array<vec4<f32>, 4>;
  for (var j = 0u; j < 4u; j++) {
    let column = inputTransform(vec4<f32>(rows[0][j], rows[1][j], rows[2][j], rows[3][j]));
    for (var i = 0u; i < 4u; i++) { result[i][j] = column[i]; }
  }
  return result;
}

// Where a chunk's tile t lies: image, tile row and tile column; and whether it is a padding tile.
// A thread of the forward's transforms finds its first tile with divisions and steps to the next ones (3 divisions a thread instead
// of 12; lavapipe divides lane by lane, though here the change did not show in the timings).
struct TilePlace {
  present: bool,
  n: u32,
  ty: u32,
  tx: u32,
}

fn tilePlace(t: u32) -> TilePlace {
  let tilesPerImage = params.tilesY * params.tilesX;
  let image = t / tilesPerImage;
  let within = t - image * tilesPerImage;
  let ty = within / params.tilesX;
  return TilePlace(image < params.images, params.firstImage + image, params.firstTileRow + ty, within - ty * params.tilesX);
}

fn nextTile(at: TilePlace) -> TilePlace {
  var next = at;
  next.tx += 1u;
  if (next.tx == params.tilesX) {
    next.tx = 0u;
    next.ty += 1u;
    if (next.ty == params.firstTileRow + params.tilesY) {
      next.ty = params.firstTileRow;
      next.n += 1u;
      next.present = next.n < params.firstImage + params.images;
    }
  }
  return next;
}
