// The float64 CPU reference that every GPU kernel test compares against: one file per op family,
// each op a forward/backward pair with explicit shapes (see each file's signatures).

export * from './conv.ts';
export * from './linear.ts';
export * from './elementwise.ts';
export * from './activations.ts';
export * from './norm.ts';
export * from './layout.ts';
export * from './reduce.ts';
export * from './losses.ts';
export * from './adam.ts';
