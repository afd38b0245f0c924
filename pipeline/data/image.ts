// The one image type the data pipeline passes around: 8-bit grey, row-major, no padding.

export interface GreyImage {
  width: number;
  height: number;
  /** length width * height, row-major */
  data: Uint8Array;
}

export function makeGreyImage(width: number, height: number, data?: Uint8Array): GreyImage {
  const pixels = data ?? new Uint8Array(width * height);
  if (pixels.length !== width * height) {
    throw new RangeError(`image data has ${pixels.length} bytes, expected ${width}x${height}`);
  }
  return { width, height, data: pixels };
}
