// Included by the gather shaders (conv_gather*.wgsl, `// #include conv_epilogue`, see
// engine/shader-source.ts).
//
// The output's last step: the activation fused into the store (the generators' tanh after their
// last conv, the discriminators' LeakyReLU after their first), so the pre-activation never goes to
// memory. 0 none, 1 tanh, 2 LeakyReLU with slope SLOPE, 3 PReLU whose one learned slope the bias
// binding carries after the biases (bias[params.outChannels]: inference, where a model's BatchNorm is
// folded into the conv, models/batchnorm-layer.ts). Pipeline constants, so that the kernels without one
// compile as before (on lavapipe a uniform branch here cost G2's forward 1.2x, from register allocation).
override ACTIVATION: u32 = 0u;
override SLOPE: f32 = 0.2;

// The slope of activations 2 and 3, which a thread takes once before its stores (a PReLU's from storage).
fn epilogueSlope() -> f32 {
  if (ACTIVATION == 3u) { return bias[params.outChannels]; }
  return SLOPE;
}

fn epilogue(value: f32, slope: f32) -> f32 {
  // Clamped as elementwise.wgsl's tanh: some drivers' tanh overflows to NaN for large |x|.
  if (ACTIVATION == 1u) { return tanh(clamp(value, -15.0, 15.0)); }
  if (ACTIVATION >= 2u) { return select(slope * value, value, value > 0.0); }
  return value;
}
