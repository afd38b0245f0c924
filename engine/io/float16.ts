// Half-precision conversions (IEEE f16 and bfloat16) for safetensors files: round to nearest even,
// subnormals, infinities and NaN preserved.

const float32Scratch = new Float32Array(1);
const float32ScratchBits = new Uint32Array(float32Scratch.buffer);

/** IEEE binary16 bits of `value`, rounded to nearest even; overflow gives infinity, NaN stays NaN. */
export function float32ToFloat16Bits(value: number): number {
  float32Scratch[0] = value;
  const bits = float32ScratchBits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 | (mantissa >>> 13) : 0);
  const halfExponent = exponent - 112; // rebias 127 -> 15
  if (halfExponent >= 31) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign; // below half the smallest subnormal: rounds to zero
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    const remainder = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    let half = significand >>> shift;
    if (remainder > halfway || (remainder === halfway && (half & 1) === 1)) half += 1;
    return sign | half; // a carry into bit 10 correctly gives the smallest normal
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1)) half += 1;
  return sign | half; // a carry into the exponent correctly rounds up to the next binade or infinity
}

export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa !== 0 ? NaN : sign * Infinity;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** bfloat16 bits of `value` (the top half of float32), rounded to nearest even; NaN stays NaN. */
export function float32ToBfloat16Bits(value: number): number {
  float32Scratch[0] = value;
  const bits = float32ScratchBits[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40;
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

export function bfloat16BitsToFloat32(bits: number): number {
  float32ScratchBits[0] = (bits & 0xffff) << 16;
  return float32Scratch[0]!;
}

/** Reverses the bytes of each element: file bytes are little-endian whatever the host is. */
