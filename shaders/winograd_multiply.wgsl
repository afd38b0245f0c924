// Included by conv_winograd.wgsl and conv_winograd_grad_weight.wgsl (`// #include winograd_multiply`):
// the 16 GEMMs of a Winograd transform, products[pos][m][t] = sum over k of U[pos][k][m] V[pos][k][t]
// (plus the products already there when ACCUMULATE is 1), for pos in 0..15. Reads params.k (the
// reduction, a multiple of K_STEP), params.m (a multiple of 32) and params.tiles (a multiple of 4);
// U [16][k][m], V [16][k][tiles] and the products [16][m][tiles] are bound as vec4s.
//
// 4 tiles x 32 channels a thread, built as conv_gather_subgroup.wgsl's main (the weights go through the subgroup, each
// accumulator is updated once per K_STEP inputs; bench/RESULTS.md has K_STEP 2, 4 and 8 timed).

@group(0) @binding(5) var<storage, read> inputQuads: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> weightQuads: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> productQuads: array<vec4<f32>>;

override K_STEP: u32 = 2u;
// Threads per workgroup: 64, or fewer (a multiple of 8) when there are fewer tile quads, since every
// thread of the workgroup runs the loop (the ones past the end on the last quad) for the shuffles.
override GEMM_THREADS: u32 = 64u;
// 1: add to the products (a weight gradient's later chunks of images). A constant, not a param, so that
// the gathers' multiply compiles as before.
override ACCUMULATE: u32 = 0u;
var<private> acc: array<vec4<f32>, 32>;

// Channels 8 * bank .. 8 * bank + 7: the sum over the step's K_STEP inputs, then one accumulator update.
fn addBank(quads: array<vec4<f32>, 8>, values: array<vec4<f32>, 8>, bank: u32) {
  for (var j = 0u; j < 8u; j++) {
    let c = 8u * bank + j;
    var sum = vec4<f32>(0.0);
    for (var s = 0u; s < K_STEP; s++) { sum += subgroupShuffle(quads[s][c % 4u], c / 4u) * values[s]; }
    acc[c] += sum;
  }
}

@compute @workgroup_size(GEMM_THREADS)
fn multiply(@builtin(global_invocation_id) id: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>,
            @builtin(subgroup_invocation_id) lane: u32) {
  let tileQuads = params.tiles / 4u;
  let quad = min(id.x, tileQuads - 1u);
  let mQuads = params.m / 4u;
  var inputAt = group.z * params.k * tileQuads + quad;
  var weightAt = group.z * params.k * mQuads + group.y * 8u + lane % 8u;
  for (var k = 0u; k < params.k; k += K_STEP) {
    var values: array<vec4<f32>, 8>;
    var quads: array<vec4<f32>, 8>;
    for (var s = 0u; s < K_STEP; s++) {
      values[s] = inputQuads[inputAt + s * tileQuads];
      quads[s] = weightQuads[weightAt + s * mQuads];
    }
    inputAt += K_STEP * tileQuads;
    weightAt += K_STEP * mQuads;
    addBank(quads, values, 0u);
    addBank(quads, values, 1u);
    addBank(quads, values, 2u);
    addBank(quads, values, 3u);
  }
  if (id.x >= tileQuads) { return; }
  let sums = acc;
  for (var c = 0u; c < 32u; c++) {
    let at = (group.z * params.m + group.y * 32u + c) * tileQuads + quad;
    if (ACCUMULATE != 0u) { productQuads[at] += sums[c]; } else { productQuads[at] = sums[c]; }
  }
}
