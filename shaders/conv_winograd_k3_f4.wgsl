// Winograd F(4x4, 3x3) for the k3 s1 p1 gathers (engine/ops/conv-winograd-k3.ts): the geometry of
// conv_winograd_k3.wgsl (conv2d keeping the size, and its grad-input, the same convolution with the
// kernel flipped) with 6x6 input tiles at (4 ty - 1, 4 tx - 1), each giving 4x4 outputs: 36 multiplies
// per 144 for each (ci, co) pair, against F(2x2, 3x3)'s 16 per 36, and 36 transformed values per 16
// outputs against 16 per 4. Lavin and Gray's matrices (points 0, +-1, +-2, infinity):
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
//   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
//
// Layouts as conv_winograd.wgsl's with 36 positions: U [36][k][m] (m: Cout padded to a multiple of 32
// with zeros), V [36][k][tiles], products [36][m][tiles]; tiles padded to a multiple of 4.

enable subgroups;
diagnostic(off, subgroup_uniformity);

// #include winograd_gather_params

// #include winograd_tiles

// #include winograd_b6

// G v for a column or row v of 3 filter values.
fn filterTransform6(v: vec3<f32>) -> array<f32, 6> {
  let even = v.x + v.z;
  return array<f32, 6>(
    0.25 * v.x,
    -(even + v.y) / 6.0,
    -(even - v.y) / 6.0,
    v.x / 24.0 + v.y / 12.0 + v.z / 6.0,
    v.x / 24.0 - v.y / 12.0 + v.z / 6.0,
    v.z,
  );
}

// A^T v for a column or row v of 6 products.
fn outputTransform6(v: array<f32, 6>) -> vec4<f32> {
  let sum12 = v[1] + v[2];
  let difference12 = v[1] - v[2];
  let sum34 = v[3] + v[4];
  let difference34 = v[3] - v[4];
  return vec4<f32>(v[0] + sum12 + sum34, difference12 + 2.0 * difference34, sum12 + 4.0 * sum34, difference12 + 8.0 * difference34 + v[5]);
}

// --- transform_weights: U[pos][ci][m] = (G g G^T)[pos] for the 3x3 filter g of (ci, m); one thread per
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
  var quads: array<vec4<f32>, 36>;
  for (var e = 0u; e < 4u; e++) {
    let co = 4u * quad + e;
    let present = co < params.realM;
    let pair = select(ci * params.outChannels + co, co * params.inChannels + ci, params.outputIsFirst != 0u);
    // Rows of g G^T: the filter's rows a (zero for padding channels), transformed along them.
    var rows: array<array<f32, 6>, 3>;
    for (var a = 0u; a < 3u; a++) {
      var values = vec3<f32>(0.0);
      for (var b = 0u; b < 3u; b++) {
        let tap = select(a * 3u + b, (2u - a) * 3u + 2u - b, flipped);
        values[b] = select(0.0, weight[select(0u, pair * 9u + tap, present)], present);
      }
      rows[a] = filterTransform6(values);
    }
    for (var j = 0u; j < 6u; j++) {
      let column = filterTransform6(vec3<f32>(rows[0][j], rows[1][j], rows[2][j]));
      for (var i = 0u; i < 6u; i++) { quads[i * 6u + j][e] = column[i]; }
    }
  }
  let plane = params.k * params.m / 4u;
  for (var pos = 0u; pos < 36u; pos++) { transformedWeights[pos * plane + ci * params.m / 4u + quad] = quads[pos]; }
}

// --- transform_input: V[pos][ci][t] = (B^T d B)[pos] for the 6x6 input tile d of (ci, t) at (4 ty - 1,
// 4 tx - 1); one thread per 4 consecutive tiles, so that the stores are vec4s.

@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> transformedInput: array<vec4<f32>>;

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_input(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  let ci = id.y;
  if (4u * quad >= params.tiles) { return; }
  // [pos]: the 4 tiles' values.
  var tiles: array<vec4<f32>, 36>;
  var at = tilePlace(4u * quad);
  for (var e = 0u; e < 4u; e++) {
    // Padding tiles read image 0 (and multiply by nothing: they are zeros).
    let channelStart = (select(0u, at.n, at.present) * params.inChannels + ci) * params.inHeight * params.inWidth;
    let tile = transformedTile6(channelStart, 4 * i32(at.ty) - 1, 4 * i32(at.tx) - 1, params.inHeight, params.inWidth, at.present);
    for (var i = 0u; i < 6u; i++) {
      for (var j = 0u; j < 6u; j++) { tiles[i * 6u + j][e] = tile[i][j]; }
    }
    at = nextTile(at);
  }
  let plane = params.k * params.tiles / 4u;
  for (var pos = 0u; pos < 36u; pos++) { transformedInput[pos * plane + ci * params.tiles / 4u + quad] = tiles[pos]; }
}

// The same buffer as x seen as vec4s, for transform_input_rows.
@group(0) @binding(11) var<storage, read> x4: array<vec4<f32>>;

// transform_input where the input rows are a multiple of 16 long (rows of tiles a multiple of 4, chunks of
// whole tile rows, no padding tiles): a thread's 4 tiles lie side by side in one tile row, so it reads
// each of their 6 input rows once, 4 aligned vec4s and a column either side: 6 loads where the 4 tiles
// read 24 scalars (lavapipe loads lane by lane; the loads were about half of transform_input's time).
@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_input_rows(@builtin(global_invocation_id) id: vec3<u32>) {
  let quad = id.x;
  let ci = id.y;
  if (4u * quad >= params.tiles) { return; }
  let at = tilePlace(4u * quad);
  let width = params.inWidth;
  let channelStart = (at.n * params.inChannels + ci) * params.inHeight * width;
  // Columns 4 tx - 1 .. 4 tx + 16 of the 4 tiles' input rows, each row transformed along per tile: [tile][row].
  var rowTransforms: array<array<array<f32, 6>, 6>, 4>;
  for (var i = 0u; i < 6u; i++) {
    let row = 4 * i32(at.ty) - 1 + i32(i);
    let inside = row >= 0 && row < i32(params.inHeight);
    let rowStart = channelStart + u32(select(0, row, inside)) * width;
    let left = 4u * at.tx;
    var values: array<f32, 18>;
    values[0] = select(0.0, x[select(rowStart, rowStart + left - 1u, left > 0u)], inside && left > 0u);
    for (var m = 0u; m < 4u; m++) {
      let v = select(vec4<f32>(0.0), x4[rowStart / 4u + at.tx + m], inside);
      values[1u + 4u * m] = v.x;
      values[2u + 4u * m] = v.y;
      values[3u + 4u * m] = v.z;
      values[4u + 4u * m] = v.w;
    }
    let right = left + 16u < width;
    values[17] = select(0.0, x[select(rowStart, rowStart + left + 16u, right)], inside && right);
    for (var e = 0u; e < 4u; e++) {
      rowTransforms[e][i] = inputTransform6(array<f32, 6>(values[4u * e], values[4u * e + 1u], values[4u * e + 2u], values[4u * e + 3u],
        values[4u * e + 4u], values[4u * e + 5u]));
    }
  }
  // B^T along the columns; [pos]: the 4 tiles' values.
  var tiles: array<vec4<f32>, 36>;
  for (var e = 0u; e < 4u; e++) {
    for (var j = 0u; j < 6u; j++) {
      let column = inputTransform6(array<f32, 6>(rowTransforms[e][0][j], rowTransforms[e][1][j], rowTransforms[e][2][j], rowTransforms[e][3][j],
        rowTransforms[e][4][j], rowTransforms[e][5][j]));
      for (var i = 0u; i < 6u; i++) { tiles[i * 6u + j][e] = column[i]; }
    }
  }
  let plane = params.k * params.tiles / 4u;
  for (var pos = 0u; pos < 36u; pos++) { transformedInput[pos * plane + ci * params.tiles / 4u + quad] = tiles[pos]; }
}

// --- multiply (shaders/winograd_multiply.wgsl): products[pos][m][t] = sum over ci of U[pos][ci][m] V[pos][ci][t].

// #include winograd_multiply

// --- transform_output: the 4x4 outputs A^T P A of (co, t), plus bias and activation; one thread per 4
// consecutive tiles, which load their products as vec4s. transform_output_vec4, for outputs whose rows
// are a multiple of 4 long, stores each tile row as one aligned vec4 (lavapipe stores lane by lane, and
// a vec4 costs less per float than a scalar: the transform 0.8-0.9x the time).

@group(0) @binding(8) var<storage, read> products: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> bias: array<f32>;
@group(0) @binding(10) var<storage, read_write> out: array<f32>;
// The same binding seen as vec4s, by transform_output_vec4 only (an entry point binds one of the two).
@group(0) @binding(10) var<storage, read_write> out4: array<vec4<f32>>;

// #include conv_epilogue

// A thread of the output transforms: output channel co of 4 consecutive tiles, their products ([pos]: the
// 4 tiles' values), the first tile's place, and the bias and activation slope of its stores. Not `valid`
// past the chunk's real tiles.
struct OutputThread {
  valid: bool,
  co: u32,
  quads: array<vec4<f32>, 36>,
  at: TilePlace,
  biasValue: f32,
  slope: f32,
}

fn outputThread(id: vec3<u32>) -> OutputThread {
  var t: OutputThread;
  let quad = id.x;
  t.co = id.y;
  t.valid = 4u * quad < params.images * params.tilesY * params.tilesX;
  if (!t.valid) { return t; }
  t.biasValue = select(0.0, bias[t.co], params.hasBias != 0u);
  t.slope = epilogueSlope();
  let plane = params.m * params.tiles / 4u;
  for (var pos = 0u; pos < 36u; pos++) { t.quads[pos] = products[pos * plane + t.co * params.tiles / 4u + quad]; }
  t.at = tilePlace(4u * quad);
  return t;
}

// Tile e's 4x4 outputs A^T P A plus the bias, through the activation, as rows.
fn tileOutputs(t: OutputThread, e: u32) -> array<vec4<f32>, 4> {
  // Columns of A^T P, then each of its 4 rows through A.
  var rows: array<array<f32, 6>, 4>;
  for (var j = 0u; j < 6u; j++) {
    let q = t.quads;
    let column = outputTransform6(array<f32, 6>(q[j][e], q[6u + j][e], q[12u + j][e], q[18u + j][e], q[24u + j][e], q[30u + j][e]));
    for (var i = 0u; i < 4u; i++) { rows[i][j] = column[i]; }
  }
  var result: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) {
    let v = outputTransform6(rows[i]) + t.biasValue;
    result[i] = vec4<f32>(epilogue(v.x, t.slope), epilogue(v.y, t.slope), epilogue(v.z, t.slope), epilogue(v.w, t.slope));
  }
  return result;
}

// Where output channel co of the tile at `at` starts in out.
fn outputPlane(t: OutputThread) -> u32 {
  return (t.at.n * params.outChannels + t.co) * params.outHeight * params.outWidth;
}

@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_output(@builtin(global_invocation_id) id: vec3<u32>) {
  var t = outputThread(id);
  if (!t.valid) { return; }
  for (var e = 0u; e < 4u; e++) {
    if (!t.at.present) { break; }
    let rows = tileOutputs(t, e);
    for (var i = 0u; i < 4u; i++) {
      let row = 4u * t.at.ty + i;
      for (var j = 0u; j < 4u; j++) {
        let column = 4u * t.at.tx + j;
        if (row < params.outHeight && column < params.outWidth) { out[outputPlane(t) + row * params.outWidth + column] = rows[i][j]; }
      }
    }
    t.at = nextTile(t.at);
  }
}

// Rows a multiple of 4 long: a tile row is the vec4 at column 4 tx, wholly inside the row.
@compute @workgroup_size(TRANSFORM_THREADS)
fn transform_output_vec4(@builtin(global_invocation_id) id: vec3<u32>) {
  var t = outputThread(id);
  if (!t.valid) { return; }
  for (var e = 0u; e < 4u; e++) {
    if (!t.at.present) { break; }
    let rows = tileOutputs(t, e);
    for (var i = 0u; i < 4u; i++) {
      let row = 4u * t.at.ty + i;
      if (row < params.outHeight) { out4[(outputPlane(t) + row * params.outWidth) / 4u + t.at.tx] = rows[i]; }
    }
    t.at = nextTile(t.at);
  }
}
