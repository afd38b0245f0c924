// The weight-gradient shaders' Params (conv_grad_weight*.wgsl include it; engine/ops/conv-kernels.ts
// convolutionWeightGradient fills it).
struct Params {
  batch: u32,
  gradChannels: u32,
  gradHeight: u32,
  gradWidth: u32,
  inChannels: u32,
  inHeight: u32,
  inWidth: u32,
  kernelHeight: u32,
  kernelWidth: u32,
  stride: u32,
  padding: u32,
  rowsPerChunk: u32,
  chunks: u32,
  // conv_grad_weight_subgroup.wgsl main_rows: the first kernel column phase kx0 of the dispatch (one
  // dispatch a phase where the phases have different taps).
  firstColumnPhase: u32,
}
