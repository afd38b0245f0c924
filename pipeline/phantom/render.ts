// Renders one phantom frontal chest radiograph: densities are composed on a 512 work grid (soft tissue,
// lungs, heart and mediastinum, bones, vessels, findings), mapped through a film-like display curve,
// then upsampled to 1024 with quantum noise added at full resolution.

import { makeGreyImage, type GreyImage } from '../data/image.ts';
import { RandomStream } from '../../engine/host-random.ts';
import type { PhantomSpec } from './anatomy.ts';
import { boneDensity, ribLevels } from './bones.ts';
import { addTube, branchingTree, FastNormal, smoothstep, valueNoise } from './fields.ts';
import { addMasses, consolidationFields, placeMasses, type Grid } from './findings.ts';
import { Thorax } from './thorax.ts';

export const phantomSize = 1024;
const workSize = 512;

function makeGrid(spec: PhantomSpec, size: number): Grid {
  const { centerX, centerY, scale, rotation } = spec.setup;
  const cos = Math.cos(rotation);
  const sin = Math.sin(rotation);
  const patientX = new Float32Array(size * size);
  const patientY = new Float32Array(size * size);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const u = (px + 0.5) / size - centerX;
      const v = (py + 0.5) / size - 0.5 - centerY;
      patientX[py * size + px] = (u * cos + v * sin) / scale;
      patientY[py * size + px] = (-u * sin + v * cos) / scale + 0.5;
    }
  }
  const toPixel = (x: number, y: number): [number, number] => {
    const u = x * scale;
    const v = (y - 0.5) * scale;
    return [(u * cos - v * sin + centerX) * size - 0.5, (u * sin + v * cos + 0.5 + centerY) * size - 0.5];
  };
  return { size, patientX, patientY, toPixel, pixelsPerUnit: size * scale };
}

/** Pulmonary vessels: branching trees from each hilum, thinning towards the periphery. */
function vesselField(grid: Grid, thorax: Thorax, seed: number): Float32Array {
  const field = new Float32Array(grid.size * grid.size);
  const random = new RandomStream(seed, 0x7e55);
  const pixelScale = grid.size / 512;
  for (const sign of [-1, 1]) {
    const hilumX = sign * 0.085;
    const hilumY = thorax.lungTop + 0.26;
    for (let trunk = 0; trunk < 7; trunk++) {
      // fan out from straight up-and-out to down-and-out, more vessels to the lower lobes
      const angle = sign < 0 ? Math.PI - (-1.35 + trunk * 0.42) : -1.35 + trunk * 0.42;
      const segments = branchingTree(random, hilumX, hilumY, angle + random.range(-0.15, 0.15), random.range(0.08, 0.12), 0, 4);
      for (const segment of segments) {
        const [x0, y0] = grid.toPixel(segment.x0, segment.y0);
        const [x1, y1] = grid.toPixel(segment.x1, segment.y1);
        addTube(field, grid.size, x0, y0, x1, y1, Math.max(0.8, (3.6 - 0.6 * segment.depth) * pixelScale), 0.05 - 0.008 * segment.depth);
      }
    }
  }
  return field;
}

/** Composes the density (higher = more attenuation = brighter) of every work-grid pixel. */
function densityMap(spec: PhantomSpec, grid: Grid): Float32Array {
  const thorax = new Thorax(spec.build, spec.setup);
  const ribs = ribLevels(thorax, spec.seed);
  const vessels = vesselField(grid, thorax, spec.seed);
  const texture = valueNoise(grid.size, 24, 3, spec.seed ^ 0x7e7);
  const mottle = valueNoise(grid.size, 4, 2, spec.seed ^ 0x3077);
  const consolidation = spec.consolidations.length > 0 ? consolidationFields(grid, thorax, spec.consolidations, spec.seed) : undefined;
  const density = new Float32Array(grid.size * grid.size);
  const tissue = 0.55 * spec.build.tissue;
  for (let index = 0; index < density.length; index++) {
    const x = grid.patientX[index]!;
    const y = grid.patientY[index]!;
    const ax = Math.abs(x);
    const halfWidth = thorax.bodyHalfWidth(y);
    // body as a cylinder seen from the front, with a soft skin edge
    const across = Math.min(1, ax / halfWidth);
    const body = Math.pow(Math.max(0, 1 - across * across), 0.35) * smoothstep(1.0, 0.985, across);
    let value = tissue * body * (1 + 0.06 * mottle[index]!);
    // arms at the sides, separated from the chest wall by the dark axillary gap
    const armInner = halfWidth + 0.014;
    if (y > 0.12 && ax > armInner && ax < armInner + 0.1) {
      const armAcross = (ax - armInner - 0.05) / 0.05;
      value += 0.4 * tissue * Math.sqrt(Math.max(0, 1 - armAcross * armAcross)) * smoothstep(0.12, 0.22, y);
    }

    // lungs: air removes density, deepest in the middle of each field
    const side: 0 | 1 = x < 0 ? 0 : 1;
    const lung = thorax.lung(side, x, y);
    let air = 0.42 * lung.mask * (0.35 + 0.65 * lung.depth);
    if (consolidation) {
      // consolidated lung loses its air, except in the bronchi that stay open
      const filled = consolidation.weight[index]! * lung.mask;
      air *= 1 - 0.85 * filled;
      air += 0.06 * smoothstep(0.3, 0.8, filled) * consolidation.bronchi[index]!;
    }
    value -= air;
    value += lung.mask * (vessels[index]! + 0.012 * texture[index]!);
    // hila: the pulmonary arteries and nodes make the roots of the lungs denser
    const hilumDistance = ((ax - 0.1) / 0.05) ** 2 + ((y - (thorax.lungTop + 0.27)) / 0.07) ** 2;
    value += 0.06 * lung.mask * smoothstep(1, 0, hilumDistance);

    // heart adds depth beyond the mediastinum; trachea is an air column down to the carina
    value += 0.012 * thorax.heart(x, y);
    if (y < thorax.carinaY + 0.01) value -= 0.08 * smoothstep(0.02, 0.012, Math.abs(x - 0.004 * (y - 0.1))) * smoothstep(0.02, 0.05, y);

    // gastric bubble under the left dome
    const bubble = ((x - 0.13) / 0.05) ** 2 + ((y - thorax.domeY(1, 0.13) - 0.045) / 0.028) ** 2;
    value -= 0.12 * smoothstep(1, 0.6, bubble) * body;

    // breast shadows: soft density over the lower lateral lungs
    if (spec.build.female) {
      const breast = ((ax - spec.build.chestHalfWidth * 0.55) / 0.17) ** 2 + ((y - thorax.domeTop[0] + 0.02) / 0.09) ** 2;
      value += 0.07 * smoothstep(1.1, 0.3, breast) * body;
    }
    // film latitude: bone contrast is lower behind the dense mediastinum and abdomen than over lung
    value += boneDensity(x, y, thorax, ribs) * Math.min(1, body * 3) * (0.4 + 0.6 * lung.mask);
    density[index] = value;
  }
  if (spec.masses.length > 0) addMasses(density, grid, placeMasses(spec.masses, thorax, spec.seed));
  return density;
}

/** Display curve: exposure, contrast and gamma of this image; output 0..255 floats. */
function toGrey(density: Float32Array, spec: PhantomSpec): Float32Array {
  const { brightness, contrast, gamma } = spec.setup;
  const grey = new Float32Array(density.length);
  for (let index = 0; index < density.length; index++) {
    let linear = Math.max(0, 0.05 + brightness + (contrast * density[index]!) / 0.85);
    // a film-like shoulder: dense structures saturate gently instead of clipping
    if (linear > 0.85) linear = 0.85 + 0.15 * Math.tanh((linear - 0.85) / 0.15);
    grey[index] = 255 * Math.pow(linear, 0.8 * gamma);
  }
  return grey;
}

/** Bilinear upsampling of the work grid to the output size, plus signal-dependent quantum noise. */
function upsampleWithNoise(grey: Float32Array, workSide: number, size: number, spec: PhantomSpec): Uint8Array {
  const output = new Uint8Array(size * size);
  const noise = new FastNormal(spec.seed ^ 0x4015e);
  const ratio = workSide / size;
  for (let y = 0; y < size; y++) {
    const sourceY = Math.min(workSide - 1, Math.max(0, (y + 0.5) * ratio - 0.5));
    const row = Math.min(workSide - 2, Math.floor(sourceY));
    const fy = sourceY - row;
    for (let x = 0; x < size; x++) {
      const sourceX = Math.min(workSide - 1, Math.max(0, (x + 0.5) * ratio - 0.5));
      const column = Math.min(workSide - 2, Math.floor(sourceX));
      const fx = sourceX - column;
      const base = row * workSide + column;
      const top = grey[base]! + (grey[base + 1]! - grey[base]!) * fx;
      const bottom = grey[base + workSide]! + (grey[base + workSide + 1]! - grey[base + workSide]!) * fx;
      const value = top + (bottom - top) * fy;
      // fewer photons reach the detector behind dense tissue, so bright areas are noisier
      const sigma = spec.setup.noise * (0.5 + (0.9 * value) / 255);
      output[y * size + x] = Math.min(255, Math.max(0, Math.round(value + sigma * noise.normal())));
    }
  }
  return output;
}

export function renderPhantom(spec: PhantomSpec, size = phantomSize): GreyImage {
  const side = Math.min(workSize, size);
  const grid = makeGrid(spec, side);
  const grey = toGrey(densityMap(spec, grid), spec);
  return makeGreyImage(size, size, upsampleWithNoise(grey, side, size, spec));
}
