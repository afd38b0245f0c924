// elementwise.wgsl's maps over vec4s, for tensors whose size is a multiple of 4 (every activation and
// parameter buffer of the paper models): one thread per 4 elements, `count` vec4s, the same arithmetic per
// element (elementwise_maps.wgsl). On lavapipe each storage access is a per-lane, bounds-checked load or
// store, and a vec4 costs about what 3 scalars do (bench/RESULTS.md: these passes 0.4-0.6x the time).

alias Value = vec4<f32>;
// #include elementwise_maps
