// Element-wise maps and their gradients. One thread per element; `count` elements.
// Activations: LeakyReLU (alpha = slope), PReLU (single weight), tanh, sigmoid; affine: alpha*a + beta.
// The maps that also run over vec4s (elementwise_vec4.wgsl) are in elementwise_maps.wgsl.

alias Value = f32;
// #include elementwise_maps

@compute @workgroup_size(256)
fn tanh_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  // WGSL's tanh overflows to NaN for large |x| on some drivers; clamp where tanh is already +-1.
  if (i < params.count) { out[i] = tanh(clamp(a[i], -15.0, 15.0)); }
}

@compute @workgroup_size(256)
fn sigmoid_forward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) {
    let x = a[i];
    // The two branches keep exp() from overflowing for either sign.
    let e = exp(-abs(x));
    out[i] = select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
  }
}

// a = y = sigmoid(x), b = dy
@compute @workgroup_size(256)
fn sigmoid_backward(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = element(id, groups);
  if (i < params.count) { let y = a[i]; out[i] = b[i] * y * (1.0 - y); }
}
