// Float64 reference for conv2d and convTranspose2d (PyTorch semantics, NCHW), forward and backward.
// Direct loops, no im2col: slow but obviously right, which is the point of a reference.

export type Shape4 = readonly [number, number, number, number];

export interface Conv2dOptions {
  stride: number;
  padding: number;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** Extra rows/columns added on the bottom/right of the output (PyTorch `output_padding`). */
  outputPadding: number;
}

export interface ConvForwardResult {
  output: Float64Array;
  outputShape: Shape4;
}

export interface ConvGrads {
  gradInput: Float64Array;
  gradWeight: Float64Array;
  /** Always computed ([Cout]); ignore it for a layer without bias. */
  gradBias: Float64Array;
}

/** PyTorch's conv2d output size: floor((size + 2p - k) / s) + 1. */
export function conv2dOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** PyTorch's convTranspose2d output size: (size - 1) s - 2p + k + outputPadding. */
export function convTranspose2dOutputSize(
  size: number, kernel: number, stride: number, padding: number, outputPadding: number,
): number {
  return (size - 1) * stride - 2 * padding + kernel + outputPadding;
}

/**
 * Visits every (input pixel, kernel tap, output pixel) triple of a conv2d whose "gathering" side
 * is [N, Cgather, Hg, Wg] and whose "window" side is [N, Cwindow, Hw, Ww]: windowRow = gatherRow *
 * stride - padding + kernelRow. conv2d gathers from the input; convTranspose2d is the same
 * relation with the roles swapped, which is why one walker serves both.
 */
function forEachTap(
  gatherShape: Shape4, windowSize: readonly [number, number], kernel: readonly [number, number],
  stride: number, padding: number,
  visit: (batch: number, gatherPixel: number, kernelTap: number, windowPixel: number) => void,
): void {
  const [batchCount, , gatherHeight, gatherWidth] = gatherShape;
  const [windowHeight, windowWidth] = windowSize;
  const [kernelHeight, kernelWidth] = kernel;
  for (let batch = 0; batch < batchCount; batch++) {
    for (let gatherRow = 0; gatherRow < gatherHeight; gatherRow++) {
      for (let gatherColumn = 0; gatherColumn < gatherWidth; gatherColumn++) {
        for (let kernelRow = 0; kernelRow < kernelHeight; kernelRow++) {
          const windowRow = gatherRow * stride - padding + kernelRow;
          if (windowRow < 0 || windowRow >= windowHeight) continue;
          for (let kernelColumn = 0; kernelColumn < kernelWidth; kernelColumn++) {
            const windowColumn = gatherColumn * stride - padding + kernelColumn;
            if (windowColumn < 0 || windowColumn >= windowWidth) continue;
            visit(batch, gatherRow * gatherWidth + gatherColumn, kernelRow * kernelWidth + kernelColumn,
              windowRow * windowWidth + windowColumn);
          }
        }
      }
    }
  }
}

/** conv2d. x: [N, Cin, H, W]; weight: [Cout, Cin, kH, kW]; bias: [Cout] or null. */
export function conv2dForward(
  x: Float64Array, xShape: Shape4, weight: Float64Array, weightShape: Shape4,
  bias: Float64Array | null, options: Conv2dOptions,
): ConvForwardResult {
  const [batchCount, inChannels, height, width] = xShape;
  const [outChannels, , kernelHeight, kernelWidth] = weightShape;
  const outHeight = conv2dOutputSize(height, kernelHeight, options.stride, options.padding);
  const outWidth = conv2dOutputSize(width, kernelWidth, options.stride, options.padding);
  const outputShape: Shape4 = [batchCount, outChannels, outHeight, outWidth];
  const output = new Float64Array(batchCount * outChannels * outHeight * outWidth);
  const inPlane = height * width;
  const outPlane = outHeight * outWidth;
  const taps = kernelHeight * kernelWidth;
  forEachTap(outputShape, [height, width], [kernelHeight, kernelWidth], options.stride, options.padding,
    (batch, outPixel, tap, inPixel) => {
      for (let outChannel = 0; outChannel < outChannels; outChannel++) {
        let total = 0;
        for (let inChannel = 0; inChannel < inChannels; inChannel++) {
          total += x[(batch * inChannels + inChannel) * inPlane + inPixel]
            * weight[(outChannel * inChannels + inChannel) * taps + tap];
        }
        output[(batch * outChannels + outChannel) * outPlane + outPixel] += total;
      }
    });
  if (bias) addBias(output, bias, batchCount, outChannels, outPlane);
  return { output, outputShape };
}

/** conv2d backward. gradOutput: [N, Cout, Ho, Wo]; other arguments as in the forward. */
export function conv2dBackward(
  gradOutput: Float64Array, x: Float64Array, xShape: Shape4, weight: Float64Array, weightShape: Shape4,
  options: Conv2dOptions,
): ConvGrads {
  const [batchCount, inChannels, height, width] = xShape;
  const [outChannels, , kernelHeight, kernelWidth] = weightShape;
  const outHeight = conv2dOutputSize(height, kernelHeight, options.stride, options.padding);
  const outWidth = conv2dOutputSize(width, kernelWidth, options.stride, options.padding);
  const gradInput = new Float64Array(x.length);
  const gradWeight = new Float64Array(weight.length);
  const inPlane = height * width;
  const outPlane = outHeight * outWidth;
  const taps = kernelHeight * kernelWidth;
  forEachTap([batchCount, outChannels, outHeight, outWidth], [height, width], [kernelHeight, kernelWidth],
    options.stride, options.padding, (batch, outPixel, tap, inPixel) => {
      for (let outChannel = 0; outChannel < outChannels; outChannel++) {
        const upstream = gradOutput[(batch * outChannels + outChannel) * outPlane + outPixel];
        for (let inChannel = 0; inChannel < inChannels; inChannel++) {
          const inIndex = (batch * inChannels + inChannel) * inPlane + inPixel;
          const weightIndex = (outChannel * inChannels + inChannel) * taps + tap;
          gradInput[inIndex] += upstream * weight[weightIndex];
          gradWeight[weightIndex] += upstream * x[inIndex];
        }
      }
    });
  return { gradInput, gradWeight, gradBias: channelSums(gradOutput, batchCount, outChannels, outPlane) };
}

/** convTranspose2d. x: [N, Cin, H, W]; weight: [Cin, Cout, kH, kW]; bias: [Cout] or null. */
export function convTranspose2dForward(
  x: Float64Array, xShape: Shape4, weight: Float64Array, weightShape: Shape4,
  bias: Float64Array | null, options: ConvTranspose2dOptions,
): ConvForwardResult {
  const [batchCount, inChannels, height, width] = xShape;
  const [, outChannels, kernelHeight, kernelWidth] = weightShape;
  const { stride, padding, outputPadding } = options;
  const outHeight = convTranspose2dOutputSize(height, kernelHeight, stride, padding, outputPadding);
  const outWidth = convTranspose2dOutputSize(width, kernelWidth, stride, padding, outputPadding);
  const output = new Float64Array(batchCount * outChannels * outHeight * outWidth);
  const inPlane = height * width;
  const outPlane = outHeight * outWidth;
  const taps = kernelHeight * kernelWidth;
  forEachTap(xShape, [outHeight, outWidth], [kernelHeight, kernelWidth], stride, padding,
    (batch, inPixel, tap, outPixel) => {
      for (let inChannel = 0; inChannel < inChannels; inChannel++) {
        const value = x[(batch * inChannels + inChannel) * inPlane + inPixel];
        for (let outChannel = 0; outChannel < outChannels; outChannel++) {
          output[(batch * outChannels + outChannel) * outPlane + outPixel] +=
            value * weight[(inChannel * outChannels + outChannel) * taps + tap];
        }
      }
    });
  if (bias) addBias(output, bias, batchCount, outChannels, outPlane);
  return { output, outputShape: [batchCount, outChannels, outHeight, outWidth] };
}

/** convTranspose2d backward. gradOutput: [N, Cout, Ho, Wo]; other arguments as in the forward. */
export function convTranspose2dBackward(
  gradOutput: Float64Array, x: Float64Array, xShape: Shape4, weight: Float64Array, weightShape: Shape4,
  options: ConvTranspose2dOptions,
): ConvGrads {
  const [batchCount, inChannels, height, width] = xShape;
  const [, outChannels, kernelHeight, kernelWidth] = weightShape;
  const { stride, padding, outputPadding } = options;
  const outHeight = convTranspose2dOutputSize(height, kernelHeight, stride, padding, outputPadding);
  const outWidth = convTranspose2dOutputSize(width, kernelWidth, stride, padding, outputPadding);
  const gradInput = new Float64Array(x.length);
  const gradWeight = new Float64Array(weight.length);
  const inPlane = height * width;
  const outPlane = outHeight * outWidth;
  const taps = kernelHeight * kernelWidth;
  forEachTap(xShape, [outHeight, outWidth], [kernelHeight, kernelWidth], stride, padding,
    (batch, inPixel, tap, outPixel) => {
      for (let inChannel = 0; inChannel < inChannels; inChannel++) {
        const inIndex = (batch * inChannels + inChannel) * inPlane + inPixel;
        for (let outChannel = 0; outChannel < outChannels; outChannel++) {
          const upstream = gradOutput[(batch * outChannels + outChannel) * outPlane + outPixel];
          const weightIndex = (inChannel * outChannels + outChannel) * taps + tap;
          gradInput[inIndex] += upstream * weight[weightIndex];
          gradWeight[weightIndex] += upstream * x[inIndex];
        }
      }
    });
  return { gradInput, gradWeight, gradBias: channelSums(gradOutput, batchCount, outChannels, outPlane) };
}

function addBias(output: Float64Array, bias: Float64Array, batchCount: number, channels: number, plane: number): void {
  for (let batch = 0; batch < batchCount; batch++) {
    for (let channel = 0; channel < channels; channel++) {
      const offset = (batch * channels + channel) * plane;
      for (let pixel = 0; pixel < plane; pixel++) output[offset + pixel] += bias[channel];
    }
  }
}

/** Per-channel sum over N, H, W of an NCHW tensor: the bias gradient. */
export function channelSums(values: Float64Array, batchCount: number, channels: number, plane: number): Float64Array {
  const sums = new Float64Array(channels);
  for (let batch = 0; batch < batchCount; batch++) {
    for (let channel = 0; channel < channels; channel++) {
      const offset = (batch * channels + channel) * plane;
      for (let pixel = 0; pixel < plane; pixel++) sums[channel] += values[offset + pixel];
    }
  }
  return sums;
}
