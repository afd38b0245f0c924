// PNG in and out with pngjs: any PNG the data set may hold (8-bit grey, RGB, RGBA, 16-bit, palette)
// becomes an 8-bit grey image; anything undecodable becomes a BadInputFileError naming the file.

import { readFileSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { BadInputFileError } from '../../engine/errors.ts';
import { makeGreyImage, type GreyImage } from './image.ts';

const pngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Luminance with OpenCV's RGB2GRAY fixed-point weights (0.299, 0.587, 0.114 in 14-bit), so an
 * RGBA/RGB file gives the same grey values OpenCV's `imread(..., IMREAD_GRAYSCALE)` would.
 * Alpha is ignored: ChestX-ray8's RGBA files are opaque.
 */
function luminance(red: number, green: number, blue: number): number {
  return (red * 4899 + green * 9617 + blue * 1868 + 8192) >> 14;
}

/** Decodes PNG bytes into 8-bit grey. 16-bit samples are scaled to 8 bits by round(v * 255 / 65535). */
export function decodeGreyPng(bytes: Uint8Array, file: string): GreyImage {
  if (bytes.length === 0) throw new BadInputFileError(file, 'empty file');
  if (bytes.length < pngSignature.length || pngSignature.some((value, index) => bytes[index] !== value)) {
    throw new BadInputFileError(file, 'not a PNG file (bad signature)');
  }
  let decoded: { width: number; height: number; depth?: number; data: ArrayLike<number> };
  try {
    decoded = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true }) as typeof decoded;
  } catch (error) {
    const message = (error as Error).message;
    // pngjs reports running out of bytes as pending reads on a finished stream
    const reason = /finished stream|unexpected end/i.test(message) ? 'truncated PNG' : `corrupt PNG (${message})`;
    throw new BadInputFileError(file, reason);
  }
  const { width, height, data } = decoded;
  const pixelCount = width * height;
  if (!(width > 0 && height > 0) || data.length < pixelCount * 4) {
    throw new BadInputFileError(file, `PNG decoded to ${width}x${height} with ${data.length} samples`);
  }
  const sixteenBit = decoded.depth === 16;
  const output = new Uint8Array(pixelCount);
  for (let pixel = 0, sample = 0; pixel < pixelCount; pixel++, sample += 4) {
    let red = data[sample]!;
    let green = data[sample + 1]!;
    let blue = data[sample + 2]!;
    if (sixteenBit) {
      red = Math.round((red * 255) / 65535);
      green = Math.round((green * 255) / 65535);
      blue = Math.round((blue * 255) / 65535);
    }
    output[pixel] = red === green && green === blue ? red : luminance(red, green, blue);
  }
  return makeGreyImage(width, height, output);
}

/** Reads and decodes a PNG file; a missing or unreadable file is a BadInputFileError too. */
export function readGreyPng(path: string): GreyImage {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BadInputFileError(path, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? (error as Error).message})`);
  }
  return decodeGreyPng(bytes, path);
}

/** Encodes an 8-bit grey image as an 8-bit greyscale PNG (colour type 0). */
export function encodeGreyPng(image: GreyImage, compressionLevel = 6): Buffer {
  const png = new PNG({ width: image.width, height: image.height, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false, deflateLevel: compressionLevel });
}

export function writeGreyPng(path: string, image: GreyImage, compressionLevel = 6): void {
  writeFileSync(path, encodeGreyPng(image, compressionLevel));
}
