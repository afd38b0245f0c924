// The per-image preprocessing of ARCHITECTURE.md: orig -> hr = clahe(box2(orig)) (512) -> lr = box4(hr) (128).

import { clahe } from './clahe.ts';
import type { GreyImage } from './image.ts';
import { boxDownsample, downsampleTo } from './resize.ts';

export const hrSize = 512;
export const lrSize = 128;

export interface Preprocessed {
  /** hrSize x hrSize, after CLAHE */
  hr: GreyImage;
  /** lrSize x lrSize */
  lr: GreyImage;
}

export function preprocess(original: GreyImage, highSize = hrSize, lowSize = lrSize): Preprocessed {
  const hr = clahe(downsampleTo(original, highSize, highSize));
  return { hr, lr: boxDownsample(hr, highSize / lowSize) };
}
