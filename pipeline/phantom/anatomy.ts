// Parameters of one phantom radiograph: the patient's build (shared by all their follow-ups) and the
// exposure of this image (position, rotation, inspiration, exposure, noise). Units: fractions of the image width.

import type { LabelId } from '../data/labels.ts';
import { RandomStream } from '../../engine/host-random.ts';

export interface PatientBuild {
  /** half width of the thorax */
  chestHalfWidth: number;
  /** apex of the lungs (top), and the height of the lung fields */
  lungTop: number;
  lungHeight: number;
  /** heart half width and its offset to the image right (patient left) */
  heartHalfWidth: number;
  heartOffset: number;
  /** the right hemidiaphragm (image left) sits higher than the left by this much */
  domeDifference: number;
  /** soft-tissue thickness: larger patients are brighter overall */
  tissue: number;
  female: boolean;
}

export interface ImageSetup {
  centerX: number;
  centerY: number;
  scale: number;
  /** radians; small patient rotation */
  rotation: number;
  /** lungs taller on deep inspiration */
  inspiration: number;
  /** display curve */
  brightness: number;
  contrast: number;
  gamma: number;
  /** quantum noise, grey levels at 1024 px */
  noise: number;
}

export interface Opacity {
  /** centre, in image-width units */
  x: number;
  y: number;
  radiusX: number;
  radiusY: number;
  angle: number;
  density: number;
  lobulation: number;
  lobulationPhase: number;
}

export interface Consolidation {
  /** 0 = image left (patient right) lung, 1 = image right */
  side: 0 | 1;
  /** vertical position within the lung field, 0 apex .. 1 base */
  zone: number;
  /** horizontal position within the lung, 0 medial .. 1 lateral */
  lateral: number;
  radiusX: number;
  radiusY: number;
  density: number;
}

export interface PhantomSpec {
  seed: number;
  build: PatientBuild;
  setup: ImageSetup;
  masses: Opacity[];
  consolidations: Consolidation[];
}

export function samplePatientBuild(seed: number, patient: number): PatientBuild {
  const random = new RandomStream(seed, 0x70000000 + patient);
  return {
    chestHalfWidth: random.range(0.37, 0.44),
    lungTop: random.range(0.13, 0.17),
    lungHeight: random.range(0.56, 0.64),
    heartHalfWidth: random.range(0.13, 0.17),
    heartOffset: random.range(0.025, 0.05),
    domeDifference: random.range(0.01, 0.035),
    tissue: random.range(0.9, 1.1),
    female: random.chance(0.5),
  };
}

export function sampleImageSetup(random: RandomStream): ImageSetup {
  return {
    centerX: 0.5 + random.range(-0.03, 0.03),
    centerY: random.range(-0.02, 0.025),
    scale: random.range(0.9, 1.05),
    rotation: random.range(-0.06, 0.06),
    inspiration: random.range(0.94, 1.05),
    brightness: random.range(-0.05, 0.05),
    contrast: random.range(0.9, 1.12),
    gamma: random.range(0.85, 1.15),
    noise: random.range(1.5, 3.5),
  };
}

/** A mass: one, sometimes two, well-circumscribed round or oval opacities; positions are set in lung space by the renderer. */
export function sampleMasses(random: RandomStream): Opacity[] {
  const count = random.chance(0.2) ? 2 : 1;
  const masses: Opacity[] = [];
  for (let index = 0; index < count; index++) {
    const radius = random.range(0.03, 0.06) * (index === 0 ? 1 : 0.75);
    const aspect = random.range(0.8, 1.2);
    masses.push({
      x: random.next(),
      y: random.next(),
      radiusX: radius * aspect,
      radiusY: radius / aspect,
      angle: random.range(0, Math.PI),
      density: random.range(0.3, 0.42),
      lobulation: random.range(0, 0.08),
      lobulationPhase: random.range(0, 2 * Math.PI),
    });
  }
  return masses;
}

/** Pneumonia: a patchy consolidation in one lobe, most often a lower zone. */
export function sampleConsolidations(random: RandomStream): Consolidation[] {
  const zoneDraw = random.next();
  const zone = zoneDraw < 0.6 ? random.range(0.6, 0.85) : zoneDraw < 0.85 ? random.range(0.4, 0.6) : random.range(0.2, 0.4);
  const consolidations: Consolidation[] = [{
    side: random.chance(0.55) ? 0 : 1,
    zone,
    lateral: random.range(0.3, 0.7),
    radiusX: random.range(0.08, 0.13),
    radiusY: random.range(0.08, 0.14),
    density: random.range(0.75, 1),
  }];
  // sometimes both lower lobes
  if (random.chance(0.15)) consolidations.push({ ...consolidations[0]!, side: consolidations[0]!.side === 0 ? 1 : 0, zone: random.range(0.65, 0.85), density: random.range(0.5, 0.8) });
  return consolidations;
}

export interface PhantomFindings {
  mass: boolean;
  pneumonia: boolean;
}

export function findingsOfLabel(label: LabelId): PhantomFindings {
  return { mass: label === 1, pneumonia: label === 2 };
}

/** Everything needed to render one image, from (seed, patient, image). */
export function makePhantomSpec(seed: number, patient: number, image: number, findings: PhantomFindings): PhantomSpec {
  const random = new RandomStream(seed, 0x10000000 + image);
  return {
    seed: (seed ^ Math.imul(image + 1, 0x9e3779b1)) >>> 0,
    build: samplePatientBuild(seed, patient),
    setup: sampleImageSetup(random),
    masses: findings.mass ? sampleMasses(random) : [],
    consolidations: findings.pneumonia ? sampleConsolidations(random) : [],
  };
}
