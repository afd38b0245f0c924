// Downsampling as ARCHITECTURE.md defines it: `boxK` is the mean of each KxK block rounded
// half up; a source that is not an exact multiple of the target is resized by area first.

import { makeGreyImage, type GreyImage } from './image.ts';

/** Mean of each factor x factor block, rounded half up. Width and height must divide. */
export function boxDownsample(image: GreyImage, factor: number): GreyImage {
  const { width, height, data } = image;
  if (!Number.isInteger(factor) || factor < 1 || width % factor !== 0 || height % factor !== 0) {
    throw new RangeError(`box${factor} needs sizes divisible by ${factor}, got ${width}x${height}`);
  }
  const outWidth = width / factor;
  const outHeight = height / factor;
  const area = factor * factor;
  const half = area >> 1;
  const rowSums = new Uint32Array(outWidth);
  const output = new Uint8Array(outWidth * outHeight);
  for (let outY = 0; outY < outHeight; outY++) {
    rowSums.fill(0);
    for (let dy = 0; dy < factor; dy++) {
      const rowStart = (outY * factor + dy) * width;
      for (let outX = 0; outX < outWidth; outX++) {
        let sum = 0;
        const start = rowStart + outX * factor;
        for (let dx = 0; dx < factor; dx++) sum += data[start + dx]!;
        rowSums[outX]! += sum;
      }
    }
    const outRow = outY * outWidth;
    // integer floor((sum + area/2) / area) is "round half up" without float surprises
    for (let outX = 0; outX < outWidth; outX++) output[outRow + outX] = Math.floor((rowSums[outX]! + half) / area);
  }
  return makeGreyImage(outWidth, outHeight, output);
}

/** Weights of source cells covering each target cell along one axis (area interpolation). */
function areaWeights(sourceSize: number, targetSize: number): { first: Int32Array; weights: Float64Array[] } {
  const scale = sourceSize / targetSize;
  const first = new Int32Array(targetSize);
  const weights: Float64Array[] = [];
  for (let target = 0; target < targetSize; target++) {
    const start = target * scale;
    const end = start + scale;
    const firstCell = Math.floor(start);
    const lastCell = Math.min(sourceSize - 1, Math.ceil(end) - 1);
    const cellWeights = new Float64Array(lastCell - firstCell + 1);
    for (let cell = firstCell; cell <= lastCell; cell++) {
      cellWeights[cell - firstCell] = (Math.min(end, cell + 1) - Math.max(start, cell)) / scale;
    }
    first[target] = firstCell;
    weights.push(cellWeights);
  }
  return { first, weights };
}

/** Area-averaging resize to any size (down or up), rounded half up. */
export function resizeArea(image: GreyImage, targetWidth: number, targetHeight: number): GreyImage {
  const { width, height, data } = image;
  const horizontal = areaWeights(width, targetWidth);
  const vertical = areaWeights(height, targetHeight);
  const rows = new Float64Array(height * targetWidth);
  for (let y = 0; y < height; y++) {
    for (let target = 0; target < targetWidth; target++) {
      const cellWeights = horizontal.weights[target]!;
      const start = y * width + horizontal.first[target]!;
      let sum = 0;
      for (let index = 0; index < cellWeights.length; index++) sum += cellWeights[index]! * data[start + index]!;
      rows[y * targetWidth + target] = sum;
    }
  }
  const output = new Uint8Array(targetWidth * targetHeight);
  for (let target = 0; target < targetHeight; target++) {
    const cellWeights = vertical.weights[target]!;
    const firstRow = vertical.first[target]!;
    for (let x = 0; x < targetWidth; x++) {
      let sum = 0;
      for (let index = 0; index < cellWeights.length; index++) sum += cellWeights[index]! * rows[(firstRow + index) * targetWidth + x]!;
      // the epsilon keeps exact halves (x.5 computed as x.4999999) rounding up
      output[target * targetWidth + x] = Math.min(255, Math.floor(sum + 0.5 + 1e-9));
    }
  }
  return makeGreyImage(targetWidth, targetHeight, output);
}

/** `boxK` to the target size: exact block mean when the source is K times the target, area resize otherwise. */
export function downsampleTo(image: GreyImage, targetWidth: number, targetHeight: number): GreyImage {
  const factor = image.width / targetWidth;
  if (Number.isInteger(factor) && factor >= 1 && image.height === targetHeight * factor) return boxDownsample(image, factor);
  return resizeArea(image, targetWidth, targetHeight);
}
