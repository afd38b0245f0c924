// CLAHE exactly as OpenCV's `createCLAHE(clipLimit, tileGridSize).apply` does it for 8-bit images
// (modules/imgproc/src/clahe.cpp), float32 rounding included, so results match OpenCV's pixel for pixel.

import { makeGreyImage, type GreyImage } from './image.ts';

const histogramSize = 256;
const f32 = Math.fround;

export interface ClaheOptions {
  clipLimit?: number;
  tilesX?: number;
  tilesY?: number;
}

/** OpenCV's cvRound: round half to even. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const difference = value - floor;
  if (difference > 0.5) return floor + 1;
  if (difference < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function saturateToByte(value: number): number {
  const rounded = roundHalfEven(value);
  return rounded < 0 ? 0 : rounded > 255 ? 255 : rounded;
}

/** OpenCV's BORDER_REFLECT_101 index mapping (gfedcb|abcdefgh|gfedcba). */
function reflect101(position: number, length: number): number {
  if (length === 1) return 0;
  let index = position;
  while (index < 0 || index >= length) index = index < 0 ? -index : 2 * length - 2 - index;
  return index;
}

/**
 * OpenCV pads with BORDER_REFLECT_101 when either side is not divisible by the grid, and then pads
 * BOTH sides by `tiles - size % tiles` — so a divisible side still grows by a whole tile row/column.
 */
function paddedForTiles(image: GreyImage, tilesX: number, tilesY: number): GreyImage {
  if (image.width % tilesX === 0 && image.height % tilesY === 0) return image;
  const width = image.width + tilesX - (image.width % tilesX);
  const height = image.height + tilesY - (image.height % tilesY);
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const sourceRow = reflect101(y, image.height) * image.width;
    for (let x = 0; x < width; x++) data[y * width + x] = image.data[sourceRow + reflect101(x, image.width)]!;
  }
  return makeGreyImage(width, height, data);
}

/** One 256-entry mapping per tile, row-major over tiles: the clipped, equalised cumulative histogram. */
function tileLookupTables(source: GreyImage, tilesX: number, tilesY: number, clipLimitFactor: number): Uint8Array {
  const tileWidth = source.width / tilesX;
  const tileHeight = source.height / tilesY;
  const tilePixels = tileWidth * tileHeight;
  const lutScale = f32(f32(histogramSize - 1) / tilePixels);
  // OpenCV truncates the clip limit to an integer count per bin, at least 1
  const clipLimit = clipLimitFactor > 0 ? Math.max(1, Math.trunc((clipLimitFactor * tilePixels) / histogramSize)) : 0;
  const tables = new Uint8Array(tilesX * tilesY * histogramSize);
  const histogram = new Int32Array(histogramSize);
  for (let tile = 0; tile < tilesX * tilesY; tile++) {
    const originX = (tile % tilesX) * tileWidth;
    const originY = Math.floor(tile / tilesX) * tileHeight;
    histogram.fill(0);
    for (let y = 0; y < tileHeight; y++) {
      const rowStart = (originY + y) * source.width + originX;
      for (let x = 0; x < tileWidth; x++) histogram[source.data[rowStart + x]!]!++;
    }
    if (clipLimit > 0) {
      let clipped = 0;
      for (let bin = 0; bin < histogramSize; bin++) {
        if (histogram[bin]! > clipLimit) {
          clipped += histogram[bin]! - clipLimit;
          histogram[bin] = clipLimit;
        }
      }
      const batch = Math.floor(clipped / histogramSize);
      let residual = clipped - batch * histogramSize;
      for (let bin = 0; bin < histogramSize; bin++) histogram[bin]! += batch;
      // the remainder goes one count each to bins spaced evenly from bin 0, as OpenCV does
      if (residual !== 0) {
        const residualStep = Math.max(Math.floor(histogramSize / residual), 1);
        for (let bin = 0; bin < histogramSize && residual > 0; bin += residualStep, residual--) histogram[bin]!++;
      }
    }
    let sum = 0;
    const tableStart = tile * histogramSize;
    for (let bin = 0; bin < histogramSize; bin++) {
      sum += histogram[bin]!;
      tables[tableStart + bin] = saturateToByte(f32(sum * lutScale));
    }
  }
  return tables;
}

/** Contrast-limited adaptive histogram equalisation (OpenCV defaults of this project: 2.0, 8x8). */
export function clahe(image: GreyImage, options: ClaheOptions = {}): GreyImage {
  const clipLimit = options.clipLimit ?? 2.0;
  const tilesX = options.tilesX ?? 8;
  const tilesY = options.tilesY ?? 8;
  const source = paddedForTiles(image, tilesX, tilesY);
  const tables = tileLookupTables(source, tilesX, tilesY, clipLimit);
  const tileWidth = source.width / tilesX;
  const tileHeight = source.height / tilesY;
  const { width, height, data } = image;

  // per-column tile indices and weights, computed once in float32 like OpenCV
  const inverseTileWidth = f32(1 / tileWidth);
  const leftTable = new Int32Array(width);
  const rightTable = new Int32Array(width);
  const rightWeight = new Float32Array(width);
  const leftWeight = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const position = f32(f32(x * inverseTileWidth) - 0.5);
    const left = Math.floor(position);
    rightWeight[x] = f32(position - left);
    leftWeight[x] = f32(1 - rightWeight[x]!);
    leftTable[x] = Math.max(left, 0) * histogramSize;
    rightTable[x] = Math.min(left + 1, tilesX - 1) * histogramSize;
  }

  const output = new Uint8Array(width * height);
  const inverseTileHeight = f32(1 / tileHeight);
  for (let y = 0; y < height; y++) {
    const position = f32(f32(y * inverseTileHeight) - 0.5);
    const top = Math.floor(position);
    const bottomWeight = f32(position - top);
    const topWeight = f32(1 - bottomWeight);
    const topPlane = Math.max(top, 0) * tilesX * histogramSize;
    const bottomPlane = Math.min(top + 1, tilesY - 1) * tilesX * histogramSize;
    const rowStart = y * width;
    for (let x = 0; x < width; x++) {
      const value = data[rowStart + x]!;
      const left = leftTable[x]! + value;
      const right = rightTable[x]! + value;
      const upper = f32(f32(tables[topPlane + left]! * leftWeight[x]!) + f32(tables[topPlane + right]! * rightWeight[x]!));
      const lower = f32(f32(tables[bottomPlane + left]! * leftWeight[x]!) + f32(tables[bottomPlane + right]! * rightWeight[x]!));
      output[rowStart + x] = saturateToByte(f32(f32(upper * topWeight) + f32(lower * bottomWeight)));
    }
  }
  return makeGreyImage(width, height, output);
}
