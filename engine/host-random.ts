// Counter-based random numbers on the host (data pipeline, weight init): every draw is a pure function of
// (seed, stream, counter), so shuffles, splits, crops and phantoms are reproducible and order-free.

/** A 32-bit integer mixer (lowbias32 by Chris Wellons): good avalanche, cheap in JS. */
export function mix32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hashes any number of 32-bit keys into one 32-bit value. */
export function hashKeys(...keys: number[]): number {
  let state = 0x9e3779b9;
  for (const key of keys) state = mix32(state ^ mix32((key >>> 0) + 0x632be5ab));
  return state;
}

/** Hashes a string (for keying by image name) with FNV-1a, then mixes. */
export function hashString(text: string): number {
  let state = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    state ^= text.charCodeAt(index);
    state = Math.imul(state, 0x01000193);
  }
  return mix32(state);
}

/** Uniform in [0, 1) from (seed, stream, counter). */
export function uniformAt(seed: number, stream: number, counter: number): number {
  return hashKeys(seed, stream, counter) / 4294967296;
}

/**
 * A sequential generator over the counter-based hash: `next()` draws counter 0, 1, 2, ...
 * of one (seed, stream) pair. Handy where a procedure needs an unknown number of draws.
 */
export class RandomStream {
  private counter = 0;
  constructor(private readonly seed: number, private readonly stream: number) {}

  /** Uniform in [0, 1). */
  next(): number {
    return uniformAt(this.seed, this.stream, this.counter++);
  }

  /** Uniform in [low, high). */
  range(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Integer uniform in [low, high] inclusive. */
  integer(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const first = Math.max(this.next(), 1e-12);
    const second = this.next();
    return Math.sqrt(-2 * Math.log(first)) * Math.cos(2 * Math.PI * second);
  }

  /** True with the given probability. */
  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** Picks one element uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** Fisher-Yates shuffle of a copy, keyed by (seed, stream). */
export function shuffled<T>(items: readonly T[], seed: number, stream: number): T[] {
  const result = items.slice();
  const random = new RandomStream(seed, stream);
  for (let index = result.length - 1; index > 0; index--) {
    const other = Math.floor(random.next() * (index + 1));
    const held = result[index]!;
    result[index] = result[other]!;
    result[other] = held;
  }
  return result;
}
