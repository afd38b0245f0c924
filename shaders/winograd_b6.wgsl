// Included by conv_winograd_k3_f4.wgsl and conv_winograd_k3_f4_grad_weight.wgsl (`// #include
// winograd_b6`): the data transform B^T of F(4x4, 3x3) and F(3x3, 4x4) (6x6 tiles, points 0, +-1, +-2,
// infinity): B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
// and a tile of `x` (array<f32>, which the including shader binds) through it.

// B^T v for a column or row v of 6.
fn inputTransform6(v: array<f32, 6>) -> array<f32, 6> {
  return array<f32, 6>(
    4.0 * v[0] - 5.0 * v[2] + v[4],
    v[3] + v[4] - 4.0 * (v[1] + v[2]),
    v[4] - v[3] + 4.0 * (v[1] - v[2]),
    v[4] - v[2] + 2.0 * (v[3] - v[1]),
    v[4] - v[2] + 2.0 * (v[1] - v[3]),
    4.0 * v[1] - 5.0 * v[3] + v[5],
  );
}

// B^T d B for the 6x6 tile d of x whose top-left element is at (top, left) of the height x width plane
// starting at channelStart (zero outside the plane, and everywhere unless `present`).
fn transformedTile6(channelStart: u32, top: i32, left: i32, height: u32, width: u32, present: bool) -> array<array<f32, 6>, 6> {
  var rows: array<array<f32, 6>, 6>;
  for (var i = 0; i < 6; i++) {
    let row = top + i;
    var values: array<f32, 6>;
    for (var j = 0; j < 6; j++) {
      let column = left + j;
      let inside = present && row >= 0 && row < i32(height) && column >= 0 && column < i32(width);
      values[j] = select(0.0, x[channelStart + u32(select(0, row * i32(width) + column, inside))], inside);
    }
    // B^T along the row as it is read, along the columns below.
    rows[i] = inputTransform6(values);
  }
  var result: array<array<f32, 6>, 6>;
  for (var j = 0u; j < 6u; j++) {
    let column = inputTransform6(array<f32, 6>(rows[0][j], rows[1][j], rows[2][j], rows[3][j], rows[4][j], rows[5][j]));
    for (var i = 0u; i < 6u; i++) { result[i][j] = column[i]; }
  }
  return result;
}
