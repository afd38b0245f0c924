// IEEE binary16 on the host, for checking the f16 storage kernels (engine/ops/half-storage.ts).

/** f16's spacing at |value| (its subnormal spacing below 2^-14). */
export function halfUlp(value: number): number {
  return 2 ** (Math.max(Math.floor(Math.log2(Math.abs(value) || 2 ** -24)), -14) - 10);
}

/** Whether f16 holds `value` exactly. */
export function isHalf(value: number): boolean {
  return Number.isInteger(value / halfUlp(value)) && Math.abs(value) <= 65504;
}

/** The binary16 bits of a value that f16 holds exactly. */
export function halfBits(value: number): number {
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude < 2 ** -14) return sign | Math.round(magnitude / 2 ** -24);
  const exponent = Math.floor(Math.log2(magnitude));
  return sign | ((exponent + 15) << 10) | Math.round((magnitude / 2 ** exponent - 1) * 1024);
}

/** Values f16 holds exactly, across its range (normal, subnormal, its limits), then random ones on a 1/64 grid. */
export function exactHalfValues(size: number, normal: () => number): Float32Array {
  const pick = [1, -2.5, 0.333251953125, 65504, -65504, 2 ** -14, -(2 ** -24), 3 * 2 ** -20, 0, 1026];
  return Float32Array.from({ length: size }, (_, i) => (i < pick.length ? pick[i] : Math.round(normal() * 256) / 64));
}

/** The i-th f16 of words packed two to a u32, element 2k in word k's low half. */
export function halfOfWords(words: Uint32Array, i: number): number {
  return (words[i >> 1] >>> (16 * (i & 1))) & 0xffff;
}
