// The gather shaders' Params (conv_gather*.wgsl include it; engine/ops/conv-kernels.ts gatherParams fills it).
struct Params {
  batch: u32,
  inChannels: u32,
  inHeight: u32,
  inWidth: u32,
  outChannels: u32,
  outHeight: u32,
  outWidth: u32,
  kernelHeight: u32,
  kernelWidth: u32,
  stride: u32,
  padding: u32,
  transposed: u32,
  hasBias: u32,
  // Output channels of the packed weights (a multiple of 4, see conv_pack_weights.wgsl).
  paddedOutChannels: u32,
  // conv_gather_subgroup.wgsl: the convTranspose2d phase of workgroup z 0 (one dispatch a phase where
  // their taps differ).
  firstPhase: u32,
}
