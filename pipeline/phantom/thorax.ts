// The phantom's anatomy as implicit shapes in patient coordinates (x: 0 at the midline, + to the image
// right = patient left; y: 0 at the top of the image, 1 at the bottom; units of image width).

import type { ImageSetup, PatientBuild } from './anatomy.ts';
import { smoothstep } from './fields.ts';

export class Thorax {
  readonly lungTop: number;
  readonly lungHeight: number;
  /** y of the highest point of each dome: [image-left (patient right), image-right] */
  readonly domeTop: [number, number];
  readonly heartCenterY: number;
  readonly carinaY: number;

  constructor(readonly build: PatientBuild, setup: ImageSetup) {
    this.lungTop = build.lungTop;
    this.lungHeight = build.lungHeight * setup.inspiration;
    const domeBase = this.lungTop + this.lungHeight * 0.86;
    this.domeTop = [domeBase, domeBase + build.domeDifference];
    this.heartCenterY = this.domeTop[1] - 0.055;
    this.carinaY = this.lungTop + 0.17;
  }

  /** Half width of the body outline: neck, shoulders, then the chest wall. */
  bodyHalfWidth(y: number): number {
    const chest = this.build.chestHalfWidth;
    const neck = 0.085;
    const shoulders = chest * 1.12;
    if (y < 0.16) return neck + (shoulders - neck) * Math.sqrt(smoothstep(0.0, 0.16, y));
    return shoulders + (chest * 1.02 - shoulders) * smoothstep(0.16, 0.4, y);
  }

  /** Diaphragm dome height under the given side at x. */
  domeY(side: 0 | 1, x: number): number {
    const offset = (Math.abs(x) - 0.14) / 0.2;
    return this.domeTop[side] + 0.07 * offset * offset;
  }

  /** 0..1 inside the heart silhouette (larger to the patient's left). */
  heart(x: number, y: number): number {
    const halfWidth = this.build.heartHalfWidth;
    const centerX = this.build.heartOffset;
    // the left ventricle bulges further than the right atrium
    // long axis tilted down towards the apex at the patient's left
    const tilt = 0.45;
    const along = (x - centerX) * Math.cos(tilt) - (y - this.heartCenterY) * Math.sin(tilt);
    const across = (x - centerX) * Math.sin(tilt) + (y - this.heartCenterY) * Math.cos(tilt);
    const radiusX = along > 0 ? halfWidth * 1.05 : halfWidth * 0.8;
    const dx = along / radiusX;
    const dy = across / 0.105;
    return smoothstep(1, 0.9, dx * dx + dy * dy);
  }

  /** Half width of the mediastinum above the heart (great vessels, trachea). */
  mediastinumHalfWidth(y: number): number {
    return 0.042 + 0.035 * smoothstep(this.lungTop + 0.12, this.heartCenterY, y);
  }

  /**
   * Lung field membership (0..1, soft edges) and relative air depth (1 deep in the middle of the
   * lung, 0 at the pleura), for the lung on `side`. The field widens from a rounded apex to the
   * lateral chest wall and is cut below by the diaphragm, medially by the mediastinum and heart.
   */
  lung(side: 0 | 1, x: number, y: number): { mask: number; depth: number } {
    const t = (y - this.lungTop) / this.lungHeight;
    if (t <= 0 || t > 1.3) return { mask: 0, depth: 0 };
    const ax = Math.abs(x);
    const medial = 0.03;
    const lateral = this.build.chestHalfWidth * (0.86 + 0.06 * Math.min(1, t));
    const apexX = medial + 0.42 * (lateral - medial);
    const rise = 1 - Math.min(1, t / 0.32);
    const width = Math.sqrt(1 - rise * rise);
    const inner = apexX - (apexX - medial) * width;
    const outer = apexX + (lateral - apexX) * width;
    if (ax <= inner - 0.01 || ax >= outer + 0.01) return { mask: 0, depth: 0 };
    const edge = 0.004;
    let mask = smoothstep(outer + edge, outer - edge, ax) * smoothstep(inner - edge, inner + edge, ax);
    const dome = this.domeY(side, x);
    mask *= smoothstep(dome + 0.003, dome - 0.004, y);
    const mediastinum = this.mediastinumHalfWidth(y);
    mask *= smoothstep(mediastinum, mediastinum + 0.012, ax);
    mask *= 1 - this.heart(x, y);
    // aortic knob on the patient's left
    if (side === 1) {
      const knobX = (x - 0.045) / 0.032;
      const knobY = (y - (this.lungTop + 0.13)) / 0.03;
      mask *= smoothstep(0.8, 1.1, knobX * knobX + knobY * knobY);
    }
    if (mask <= 0) return { mask: 0, depth: 0 };
    const across = Math.min(1, Math.max(0, (ax - inner) / Math.max(1e-3, outer - inner)));
    const depth = Math.sqrt(4 * across * (1 - across)) * smoothstep(dome + 0.01, dome - 0.08, y) * smoothstep(0, 0.25, t);
    return { mask, depth };
  }

  /** A point inside the given lung, from two uniforms; used to place findings. */
  lungPoint(side: 0 | 1, across: number, down: number): { x: number; y: number } {
    const sign = side === 0 ? -1 : 1;
    const lateral = this.build.chestHalfWidth * 0.9;
    const x = sign * (0.07 + across * (lateral - 0.1));
    const y = this.lungTop + 0.06 + down * (this.lungHeight * 0.8 - 0.06);
    return { x, y };
  }
}
