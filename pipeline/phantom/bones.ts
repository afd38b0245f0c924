// Bony structures of the phantom as density at a point: spine, posterior and anterior ribs,
// clavicles and humeral heads. Bones have bright cortical margins, as on a real film.

import { RandomStream } from '../../engine/host-random.ts';
import { smoothstep } from './fields.ts';
import type { Thorax } from './thorax.ts';

export interface RibLevel {
  /** y where the posterior rib leaves the spine */
  y: number;
  halfThickness: number;
  /** small per-rib shape variation */
  bend: number;
}

export function ribLevels(thorax: Thorax, seed: number): RibLevel[] {
  const random = new RandomStream(seed, 0x41b5);
  const levels: RibLevel[] = [];
  let y = thorax.lungTop - 0.045;
  for (let index = 0; index < 11; index++) {
    levels.push({ y, halfThickness: 0.0105 + 0.0007 * index + random.range(-0.001, 0.001), bend: random.range(0.9, 1.1) });
    y += thorax.lungHeight * (0.082 + 0.004 * index);
  }
  return levels;
}

/** Density of a bony band of half width `halfThickness` at distance `distance` from its axis. */
function band(distance: number, halfThickness: number, strength: number): number {
  const t = Math.abs(distance) / halfThickness;
  if (t >= 1.15) return 0;
  const cortex = 0.6 + 0.4 * t * t * t * t;
  return strength * cortex * smoothstep(1.15, 0.9, t);
}

export function boneDensity(x: number, y: number, thorax: Thorax, ribs: RibLevel[]): number {
  const chest = thorax.build.chestHalfWidth;
  const ax = Math.abs(x);
  let density = 0;

  // spine: vertebral bodies with darker disc spaces, and pedicles as bright ovals
  if (ax < 0.045) {
    const period = 0.043;
    const phase = (((y - thorax.lungTop) / period) % 1 + 1) % 1;
    const disc = smoothstep(0.0, 0.12, phase) * smoothstep(1, 0.88, phase);
    density += 0.1 * smoothstep(0.042, 0.03, ax) * (0.65 + 0.35 * disc);
    const pedicle = ((ax - 0.024) / 0.008) ** 2 + ((phase - 0.45) / 0.22) ** 2;
    density += 0.05 * smoothstep(1, 0.6, pedicle) * smoothstep(0.06, 0.2, y);
  }

  const halfWidth = thorax.bodyHalfWidth(y);
  if (ax < halfWidth) {
    const t = ax / chest;
    for (const rib of ribs) {
      // posterior rib: leaves the spine, rises a little, then arches down to the lateral wall
      if (t > 0.04 && t < 1.04) {
        const posteriorY = rib.y - 0.035 * t * rib.bend + 0.21 * t * t * rib.bend;
        density += band(y - posteriorY, rib.halfThickness, 0.07) * smoothstep(1.04, 0.96, t) * smoothstep(0.04, 0.12, t);
      }
      // anterior rib: from the lateral wall sweeping down and in, fainter; cartilage is invisible medially
      if (t > 0.3 && t < 1.0) {
        const anteriorY = rib.y + 0.12 + 0.2 * (1 - t) * rib.bend;
        density += band(y - anteriorY, rib.halfThickness * 0.8, 0.03) * smoothstep(0.3, 0.45, t) * smoothstep(1.0, 0.9, t);
      }
    }
  }

  // clavicles: S-shaped, from the sternal notch out to the shoulders
  const clavicleT = ax / (chest * 0.85);
  if (clavicleT > 0.08 && clavicleT < 1.05) {
    const clavicleY = thorax.lungTop + 0.03 - 0.06 * clavicleT + 0.018 * Math.sin(Math.PI * clavicleT);
    density += band(y - clavicleY, 0.014, 0.12) * smoothstep(0.08, 0.14, clavicleT) * smoothstep(1.05, 0.98, clavicleT);
  }

  // humeral heads at the top corners
  const humerusX = (ax - chest * 1.08) / 0.055;
  const humerusY = (y - (thorax.lungTop + 0.02)) / 0.06;
  const humerus = humerusX * humerusX + humerusY * humerusY;
  if (humerus < 1.2) density += 0.14 * smoothstep(1.1, 0.9, humerus) * (0.75 + 0.25 * humerus);
  return density;
}
