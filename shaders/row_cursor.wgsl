// Included by batchnorm.wgsl and reduce.wgsl (`// #include row_cursor`): a thread's place (row,
// column) among rows of `units` values, visiting every 256th value of the range (256 threads a
// workgroup). It is stepped rather than divided per value: lavapipe divides lane by lane.
struct Cursor {
  row: u32,
  column: u32,
}

fn cursor_next_in(cursor: Cursor, units: u32) -> Cursor {
  // 256 % units < units, so one wrap is enough.
  var next = Cursor(cursor.row + 256u / units, cursor.column + 256u % units);
  if (next.column >= units) {
    next.column -= units;
    next.row += 1u;
  }
  return next;
}
