// Turns model outputs in [-1, 1] into 8-bit grey images: single images and sample grids.

import { makeGreyImage, type GreyImage } from '../data/image.ts';

/** [-1, 1] -> 0..255, rounding half up and clamping: the one quantisation used everywhere. */
export function quantize(value: number): number {
  const scaled = Math.floor((value + 1) * 127.5 + 0.5);
  return scaled < 0 ? 0 : scaled > 255 ? 255 : scaled;
}

/** Image `index` of an NCHW (C = 1) batch as a grey image. */
export function imageFromBatch(pixels: Float32Array, index: number, size: number): GreyImage {
  const image = makeGreyImage(size, size);
  const offset = index * size * size;
  for (let i = 0; i < size * size; i++) image.data[i] = quantize(pixels[offset + i]);
  return image;
}

/** A rows x columns grid of square images (row-major in the batch), with a 2-pixel black gutter. */
export function gridFromBatch(pixels: Float32Array, size: number, rows: number, columns: number): GreyImage {
  const gutter = 2;
  const width = columns * size + (columns - 1) * gutter;
  const height = rows * size + (rows - 1) * gutter;
  const grid = makeGreyImage(width, height);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const offset = (row * columns + column) * size * size;
      for (let y = 0; y < size; y++) {
        const target = (row * (size + gutter) + y) * width + column * (size + gutter);
        for (let x = 0; x < size; x++) grid.data[target + x] = quantize(pixels[offset + y * size + x]);
      }
    }
  }
  return grid;
}
