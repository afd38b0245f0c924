// The baselines super-resolution is judged against: bicubic (Keys' kernel with a = -0.75, the
// convolution OpenCV's INTER_CUBIC and PyTorch's bicubic with align_corners=False use, edges
// replicated) and nearest-neighbour upscaling by an integer factor.

const A = -0.75;

function cubic(distance: number): number {
  const x = Math.abs(distance);
  if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return 0;
}

/** Source taps and weights of each output position along one axis (half-pixel centres). */
function axisTaps(inSize: number, factor: number): { index: Int32Array; weight: Float64Array } {
  const outSize = inSize * factor;
  const index = new Int32Array(outSize * 4);
  const weight = new Float64Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    const source = (o + 0.5) / factor - 0.5;
    const base = Math.floor(source);
    const t = source - base;
    for (let k = 0; k < 4; k++) {
      index[o * 4 + k] = Math.min(inSize - 1, Math.max(0, base - 1 + k));
      weight[o * 4 + k] = cubic(t - (k - 1));
    }
  }
  return { index, weight };
}

/** width x height -> (factor width) x (factor height), rows then columns, unclamped float64. */
export function upscaleBicubic(plane: ArrayLike<number>, width: number, height: number, factor: number): Float64Array {
  if (plane.length !== width * height) throw new Error(`upscaleBicubic: ${plane.length} values for ${width}x${height}`);
  const outWidth = width * factor;
  const outHeight = height * factor;
  const columns = axisTaps(width, factor);
  const rows = axisTaps(height, factor);
  const horizontal = new Float64Array(height * outWidth);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      for (let k = 0; k < 4; k++) sum += columns.weight[x * 4 + k] * plane[y * width + columns.index[x * 4 + k]];
      horizontal[y * outWidth + x] = sum;
    }
  }
  const out = new Float64Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      for (let k = 0; k < 4; k++) sum += rows.weight[y * 4 + k] * horizontal[rows.index[y * 4 + k] * outWidth + x];
      out[y * outWidth + x] = sum;
    }
  }
  return out;
}

/** Each pixel repeated factor x factor times (OpenCV INTER_NEAREST for an integer factor). */
export function upscaleNearest(plane: ArrayLike<number>, width: number, height: number, factor: number): Float64Array {
  if (plane.length !== width * height) throw new Error(`upscaleNearest: ${plane.length} values for ${width}x${height}`);
  const outWidth = width * factor;
  const out = new Float64Array(outWidth * height * factor);
  for (let y = 0; y < height * factor; y++) {
    const sourceRow = Math.floor(y / factor) * width;
    for (let x = 0; x < outWidth; x++) out[y * outWidth + x] = plane[sourceRow + Math.floor(x / factor)];
  }
  return out;
}

/** Rounds half up and clamps to 0..255, as saving the image would. */
export function toUint8(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(255, Math.max(0, Math.floor(values[i] + 0.5)));
  return out;
}
