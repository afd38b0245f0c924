// Included by conv_winograd.wgsl and conv_winograd_k3.wgsl (`// #include winograd_gather_params`): the
// Winograd gathers' params, as engine/ops/conv-winograd.ts's runWinogradGather writes them, and their
// transforms' workgroup size.

struct Params {
  // The gather's input [batch, inChannels, inHeight, inWidth] and output [batch, outChannels, outHeight, outWidth].
  inChannels: u32,
  inHeight: u32,
  inWidth: u32,
  outChannels: u32,
  outHeight: u32,
  outWidth: u32,
  transposed: u32,
  hasBias: u32,
  // The weight's layout: [outChannels, inChannels, kH, kW] (1: conv2d's, as a gather's output channel
  // comes first) or [inChannels, outChannels, kH, kW] (0), in the gather's channels.
  outputIsFirst: u32,
  // GEMM sizes: reduction k, channels m (a multiple of 32) of which realM are real, tiles (a multiple of 4).
  k: u32,
  m: u32,
  realM: u32,
  tiles: u32,
  // Tile rows per image of this chunk (from firstTileRow: a band of each image's rows where one image's
  // tiles would overflow a chunk) and tile columns, and the images of this chunk.
  tilesY: u32,
  tilesX: u32,
  firstImage: u32,
  images: u32,
  firstTileRow: u32,
}

@group(0) @binding(0) var<uniform> params: Params;

// Threads per workgroup of the three transforms: 64, or fewer (a multiple of 8) for short rows of work.
override TRANSFORM_THREADS: u32 = 64u;
