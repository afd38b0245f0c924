// Included by conv_winograd_k3.wgsl and conv_winograd_grad_weight.wgsl (`// #include winograd_f2x2_3x3`):
// the filter and output transforms of F(2x2, 3x3) that go with winograd_tiles.wgsl's B^T (points 0, 1,
// -1, infinity): Lavin's G and A^T with the point at infinity's sign flipped in G, as it is in B^T,
//   G' = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 -1], A^T = [1 1 1 0; 0 1 -1 -1].

// G' v for a column or row v of 3 filter values.
fn filterTransform(v: vec3<f32>) -> vec4<f32> {
  return vec4<f32>(v.x, 0.5 * (v.x + v.y + v.z), 0.5 * (v.x - v.y + v.z), -v.z);
}

// A^T v for a column or row v of 4 products.
fn outputTransform(v: vec4<f32>) -> vec2<f32> {
  return vec2<f32>(v.x + v.y + v.z, v.y - v.z - v.w);
}
