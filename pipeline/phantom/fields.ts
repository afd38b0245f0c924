// Drawing primitives for the phantom: smooth value noise, soft-edged tubes (vessels, bronchi) and
// a fast seeded normal generator for quantum noise. All fields are Float32Array planes of size x size.

import { hashKeys, mix32 } from '../../engine/host-random.ts';

export function smoothstep(edge0: number, edge1: number, value: number): number {
  const t = Math.min(1, Math.max(0, (value - edge0) / (edge1 - edge0)));
  return t * t * (3 - 2 * t);
}

/**
 * Fractal value noise in [-1, 1]-ish: `octaves` lattices of random values (keyed by seed) upsampled
 * with a smooth (cubic Hermite) interpolation; the coarsest lattice has `cells` cells across.
 */
export function valueNoise(size: number, cells: number, octaves: number, seed: number): Float32Array {
  const field = new Float32Array(size * size);
  let amplitude = 1;
  let total = 0;
  for (let octave = 0; octave < octaves; octave++) {
    const lattice = cells << octave;
    const values = new Float32Array((lattice + 1) * (lattice + 1));
    for (let index = 0; index < values.length; index++) values[index] = hashKeys(seed, octave, index) / 2147483648 - 1;
    const scale = lattice / size;
    for (let y = 0; y < size; y++) {
      const gy = y * scale;
      const row = Math.floor(gy);
      const fy = gy - row;
      const wy = fy * fy * (3 - 2 * fy);
      for (let x = 0; x < size; x++) {
        const gx = x * scale;
        const column = Math.floor(gx);
        const fx = gx - column;
        const wx = fx * fx * (3 - 2 * fx);
        const base = row * (lattice + 1) + column;
        const top = values[base]! + (values[base + 1]! - values[base]!) * wx;
        const bottom = values[base + lattice + 1]! + (values[base + lattice + 2]! - values[base + lattice + 1]!) * wx;
        field[y * size + x]! += amplitude * (top + (bottom - top) * wy);
      }
    }
    total += amplitude;
    amplitude *= 0.5;
  }
  for (let index = 0; index < field.length; index++) field[index]! /= total;
  return field;
}

/**
 * Adds a tube along the segment (x0,y0)-(x1,y1) (pixel units) to `field`: `strength` at the axis,
 * falling off like a cylinder's chord length to zero at `radius` (a vessel seen side-on).
 */
export function addTube(field: Float32Array, size: number, x0: number, y0: number, x1: number, y1: number, radius: number, strength: number): void {
  const minX = Math.max(0, Math.floor(Math.min(x0, x1) - radius - 1));
  const maxX = Math.min(size - 1, Math.ceil(Math.max(x0, x1) + radius + 1));
  const minY = Math.max(0, Math.floor(Math.min(y0, y1) - radius - 1));
  const maxY = Math.min(size - 1, Math.ceil(Math.max(y0, y1) + radius + 1));
  const dx = x1 - x0;
  const dy = y1 - y0;
  const lengthSquared = Math.max(1e-9, dx * dx + dy * dy);
  const radiusSquared = radius * radius;
  for (let y = minY; y <= maxY; y++) {
    for (let x = minX; x <= maxX; x++) {
      const t = Math.min(1, Math.max(0, ((x - x0) * dx + (y - y0) * dy) / lengthSquared));
      const ex = x - (x0 + t * dx);
      const ey = y - (y0 + t * dy);
      const distanceSquared = ex * ex + ey * ey;
      if (distanceSquared < radiusSquared) {
        const value = strength * Math.sqrt(1 - distanceSquared / radiusSquared);
        // max, not sum, so overlapping segments of one tube do not double up at joints
        const index = y * size + x;
        if (value > field[index]!) field[index] = value;
      }
    }
  }
}

/** A fast seeded generator (xorshift32 keyed by the counter-based hash) for the per-pixel noise. */
export class FastNormal {
  private state: number;
  constructor(seed: number) {
    this.state = mix32(seed) || 0x9e3779b9;
  }

  uniform(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 4294967296;
  }

  /** Approximately standard normal (Irwin-Hall of four uniforms), plenty for image noise. */
  normal(): number {
    return (this.uniform() + this.uniform() + this.uniform() + this.uniform() - 2) * 1.7320508;
  }
}

/** A branching tree of segments, as vessels and bronchi branch from the hilum. */
export interface Segment {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** depth in the tree, 0 at the trunk */
  depth: number;
}

export function branchingTree(
  random: { range(low: number, high: number): number; next(): number },
  startX: number,
  startY: number,
  angle: number,
  length: number,
  depth: number,
  maxDepth: number,
  output: Segment[] = [],
): Segment[] {
  // each branch wiggles slightly along its length
  const pieces = 3;
  let x = startX;
  let y = startY;
  let heading = angle;
  for (let piece = 0; piece < pieces; piece++) {
    heading += random.range(-0.18, 0.18);
    const nextX = x + (Math.cos(heading) * length) / pieces;
    const nextY = y + (Math.sin(heading) * length) / pieces;
    output.push({ x0: x, y0: y, x1: nextX, y1: nextY, depth });
    x = nextX;
    y = nextY;
  }
  if (depth < maxDepth) {
    const spread = random.range(0.3, 0.6);
    branchingTree(random, x, y, heading - spread, length * random.range(0.6, 0.8), depth + 1, maxDepth, output);
    branchingTree(random, x, y, heading + spread, length * random.range(0.6, 0.8), depth + 1, maxDepth, output);
  }
  return output;
}
