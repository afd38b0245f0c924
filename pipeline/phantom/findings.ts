// The two findings as density fields over the work grid: Mass (well-circumscribed round/oval opacities
// inside a lung) and Pneumonia (ill-defined patchy consolidation within a lobe, with air bronchograms).

import { RandomStream } from '../../engine/host-random.ts';
import type { Consolidation, Opacity } from './anatomy.ts';
import { addTube, branchingTree, smoothstep, valueNoise } from './fields.ts';
import type { Thorax } from './thorax.ts';

/** Maps between work-grid pixels and patient coordinates. */
export interface Grid {
  size: number;
  /** patient x, y of each pixel */
  patientX: Float32Array;
  patientY: Float32Array;
  toPixel(x: number, y: number): [number, number];
  /** patient units -> pixels */
  pixelsPerUnit: number;
}

export interface PlacedOpacity extends Opacity {
  side: 0 | 1;
}

/** Puts each mass at a point well inside a lung (away from the heart and the pleura). */
export function placeMasses(masses: Opacity[], thorax: Thorax, seed: number): PlacedOpacity[] {
  const random = new RandomStream(seed, 0x3a55);
  return masses.map((mass) => {
    let side: 0 | 1 = random.chance(0.5) ? 0 : 1;
    let point = thorax.lungPoint(side, mass.x, mass.y);
    for (let attempt = 0; attempt < 64; attempt++) {
      const lung = thorax.lung(side, point.x, point.y);
      const margin = Math.max(mass.radiusX, mass.radiusY) * 0.6;
      const edgeClear = [[margin, 0], [-margin, 0], [0, margin], [0, -margin]].every(
        ([dx, dy]) => thorax.lung(side, point.x + dx!, point.y + dy!).mask > 0.5,
      );
      if (lung.mask > 0.95 && edgeClear) break;
      side = random.chance(0.5) ? 0 : 1;
      point = thorax.lungPoint(side, random.next(), random.next());
    }
    return { ...mass, x: point.x, y: point.y, side };
  });
}

/** Adds the masses' density into `density` (a sphere's chord profile with a crisp edge). */
export function addMasses(density: Float32Array, grid: Grid, masses: PlacedOpacity[]): void {
  for (const mass of masses) {
    const cos = Math.cos(mass.angle);
    const sin = Math.sin(mass.angle);
    const reach = Math.max(mass.radiusX, mass.radiusY) * 1.2;
    const [centerPixelX, centerPixelY] = grid.toPixel(mass.x, mass.y);
    const reachPixels = Math.ceil(reach * grid.pixelsPerUnit) + 2;
    for (let py = Math.max(0, Math.floor(centerPixelY - reachPixels)); py <= Math.min(grid.size - 1, centerPixelY + reachPixels); py++) {
      for (let px = Math.max(0, Math.floor(centerPixelX - reachPixels)); px <= Math.min(grid.size - 1, centerPixelX + reachPixels); px++) {
        const index = py * grid.size + px;
        const dx = grid.patientX[index]! - mass.x;
        const dy = grid.patientY[index]! - mass.y;
        const along = (dx * cos + dy * sin) / mass.radiusX;
        const across = (-dx * sin + dy * cos) / mass.radiusY;
        const theta = Math.atan2(across, along);
        const radius = Math.hypot(along, across) / (1 + mass.lobulation * Math.sin(3 * theta + mass.lobulationPhase));
        if (radius >= 1.02) continue;
        const edge = smoothstep(1.02, 0.97, radius);
        density[index]! += mass.density * edge * (0.55 + 0.45 * Math.sqrt(Math.max(0, 1 - radius * radius)));
      }
    }
  }
}

/**
 * Consolidation weight (0..1) per pixel: blobby noise inside an ellipse within one lung, with soft,
 * ill-defined margins; the caller clips it to the lung so it respects the pleura and the diaphragm.
 * Also returns the air-bronchogram field (1 on the axis of a bronchus).
 */
export function consolidationFields(grid: Grid, thorax: Thorax, consolidations: Consolidation[], seed: number): { weight: Float32Array; bronchi: Float32Array } {
  const { size } = grid;
  const weight = new Float32Array(size * size);
  const bronchi = new Float32Array(size * size);
  const patches = valueNoise(size, 14, 4, seed ^ 0x51a7e);
  const random = new RandomStream(seed, 0xb20c);
  for (const region of consolidations) {
    const center = thorax.lungPoint(region.side, region.lateral, region.zone);
    for (let index = 0; index < weight.length; index++) {
      const dx = (grid.patientX[index]! - center.x) / region.radiusX;
      const dy = (grid.patientY[index]! - center.y) / region.radiusY;
      const distance = dx * dx + dy * dy;
      if (distance > 2.2) continue;
      const core = smoothstep(1.9, 0.2, distance + 0.9 * patches[index]!);
      weight[index] = Math.max(weight[index]!, region.density * core);
    }
    // bronchi run from the hilum out through the consolidated lobe
    const sign = region.side === 0 ? -1 : 1;
    const hilumX = sign * 0.09;
    const hilumY = thorax.lungTop + 0.27;
    const angle = Math.atan2(center.y - hilumY, center.x - hilumX);
    const length = Math.hypot(center.x - hilumX, center.y - hilumY) * 0.7;
    for (let trunk = 0; trunk < 3; trunk++) {
      const segments = branchingTree(random, hilumX, hilumY, angle + random.range(-0.45, 0.45), length * random.range(0.7, 1), 0, 3);
      for (const segment of segments) {
        const [x0, y0] = grid.toPixel(segment.x0, segment.y0);
        const [x1, y1] = grid.toPixel(segment.x1, segment.y1);
        addTube(bronchi, size, x0, y0, x1, y1, Math.max(0.8, (2.4 - 0.5 * segment.depth) * (size / 512)), 1);
      }
    }
  }
  return { weight, bronchi };
}
