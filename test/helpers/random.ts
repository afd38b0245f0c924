// Seeded random numbers for tests: reproducible inputs without Math.random, so a failing case
// can be rerun exactly from its seed.

/** A uniform generator in [0, 1). */
export type Rng = () => number;

/** mulberry32: tiny, fast, 32-bit state; plenty for test data (not for cryptography). */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard normal samples (Box-Muller; 1 - u keeps the log argument away from 0). */
export function randn(n: number, rng: Rng): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - rng()));
    const angle = 2 * Math.PI * rng();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < n) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/** n samples uniform in [low, high). */
export function randUniform(n: number, rng: Rng, low = 0, high = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * rng();
  return out;
}

/** n integers uniform in [0, count). */
export function randInt(n: number, rng: Rng, count: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng() * count);
  return out;
}

/** A keep-mask (1 = kept) where each element is dropped with probability p. */
export function randKeepMask(n: number, rng: Rng, p: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng() >= p ? 1 : 0;
  return out;
}
