// A 3x3 contact sheet of phantom samples after preprocessing (rows: No Finding, Mass, Pneumonia), as
// committed in docs/phantom-grid.png; useful to eyeball the phantom after changing the renderer.

import { makeGreyImage, type GreyImage } from '../data/image.ts';
import { labelIds } from '../data/labels.ts';
import { preprocess } from '../data/preprocess.ts';
import { downsampleTo } from '../data/resize.ts';
import { findingsOfLabel, makePhantomSpec } from './anatomy.ts';
import { renderPhantom } from './render.ts';

export function phantomContactSheet(seed = 0, cell = 256, columns = 3): GreyImage {
  const sheet = makeGreyImage(columns * cell, labelIds.length * cell);
  for (const label of labelIds) {
    for (let column = 0; column < columns; column++) {
      const image = label * columns + column;
      const { hr } = preprocess(renderPhantom(makePhantomSpec(seed, image, image, findingsOfLabel(label))));
      const tile = downsampleTo(hr, cell, cell);
      for (let y = 0; y < cell; y++) sheet.data.set(tile.data.subarray(y * cell, (y + 1) * cell), (label * cell + y) * sheet.width + column * cell);
    }
  }
  return sheet;
}
