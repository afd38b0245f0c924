// Included by conv_winograd_grad_weight.wgsl and conv_winograd_k3_grad_weight.wgsl (`// #include
// winograd_grad_weight_params`): the Winograd weight gradients' params, as
// engine/ops/conv-winograd-grad-weight.ts writes them, and their transforms' workgroup size.

struct Params {
  // The gradient side G [batch, aChannels, gradHeight, gradWidth] and the input side X [batch, bChannels,
  // inHeight, inWidth] (twice G's size for the k4 s2 form, the same for k3 s1).
  aChannels: u32,
  bChannels: u32,
  gradHeight: u32,
  gradWidth: u32,
  inHeight: u32,
  inWidth: u32,
  // multiply's names (shaders/winograd_multiply.wgsl): the reduction k is the chunk's tiles (a multiple
  // of 4), m the a's padded to a multiple of 32, and its "tiles" the product columns (k4: the 4 B
  // (b, phase) pairs; k3: the B b's).
  k: u32,
  m: u32,
  tiles: u32,
  // Tiles per image row and column, and the images of this chunk.
  tilesY: u32,
  tilesX: u32,
  firstImage: u32,
  images: u32,
  // The first tile row (winograd_tiles.wgsl reads it; always 0: weight gradients chunk whole images).
  firstTileRow: u32,
}

@group(0) @binding(0) var<uniform> params: Params;

// Threads per workgroup of the three transforms: 64, or fewer (a multiple of 8) for short rows of work.
override TRANSFORM_THREADS: u32 = 64u;
