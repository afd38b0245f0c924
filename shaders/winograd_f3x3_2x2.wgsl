// Included by conv_winograd.wgsl and conv_winograd_k3_grad_weight.wgsl (`// #include winograd_f3x3_2x2`):
// the filter and output transforms of F(3x3, 2x2) that go with winograd_tiles.wgsl's B^T (points 0, 1,
// -1, infinity): G = [1 0; 1/2 1/2; 1/2 -1/2; 0 1], A^T = [1 1 1 0; 0 1 -1 0; 0 1 1 1]. (Never in one
// shader with winograd_f2x2_3x3.wgsl, whose functions have the same names.)

// G v for a column or row v of 2 filter values.
fn filterTransform(v: vec2<f32>) -> vec4<f32> {
  return vec4<f32>(v.x, 0.5 * (v.x + v.y), 0.5 * (v.x - v.y), v.y);
}

// A^T v for a column or row v of 4 products.
fn outputTransform(v: vec4<f32>) -> vec3<f32> {
  return vec3<f32>(v.x + v.y + v.z, v.y - v.z, v.y + v.z + v.w);
}
