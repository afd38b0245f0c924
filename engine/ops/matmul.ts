// Matrix multiply and linear layers, forward and backward. One register-blocked kernel
// (shaders/matmul.wgsl) serves all of them: its transpose overrides give dA = dY B^T and
// dB = A^T dY straight from the stored tensors, without materialising a transpose.

import { kernel } from '../kernel.ts';
import { record } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { reduceOuterInner } from './reduce.ts';

const kernels = {
  matmul: kernel('matmul', 'matmul'),
  matmulBias: kernel('matmul', 'matmul_bias'),
};

/** Outputs per thread along each axis, and the workgroup's threads along columns and rows (see the WGSL). */
const BLOCK = 4;
const WORKGROUP_COLUMNS = 16;
const WORKGROUP_ROWS = 4;

export interface GemmOptions {
  /** a is stored [K, M] and used transposed. */
  transposeA?: boolean;
  /** b is stored [N, K] and used transposed. */
  transposeB?: boolean;
  /** bias[N], added to every row. */
  bias?: Tensor | null;
  name?: string;
}

/**
 * c[M, N] = op(a) op(b) (+ bias) without recording: the building block of matmul, linear and their
 * backward passes. op(x) is x or x^T as the options say.
 */
export function gemm(a: Tensor, b: Tensor, options: GemmOptions = {}): Tensor {
  const { transposeA = false, transposeB = false, bias = null, name = 'matmul' } = options;
  if (a.shape.length !== 2 || b.shape.length !== 2) {
    throw new Error(`${name}: expects 2-d operands, got ${shapeString(a.shape)} and ${shapeString(b.shape)}`);
  }
  const [m, k] = transposeA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [kB, n] = transposeB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (k !== kB) {
    throw new Error(`${name}: inner sizes differ: ${shapeString(a.shape)}${transposeA ? '^T' : ''} x ${shapeString(b.shape)}${transposeB ? '^T' : ''}`);
  }
  if (bias && bias.size !== n) throw new Error(`${name}: bias ${shapeString(bias.shape)} does not match ${n} outputs`);
  const engine = a.engine;
  const out = engine.empty([m, n], 'f32', name);
  if (m === 0 || n === 0) return out;
  const buffers: Record<string, Tensor> = { a, b, c: out };
  if (bias) buffers.bias = bias;
  engine.run(bias ? kernels.matmulBias : kernels.matmul, {
    buffers,
    params: { m, n, k },
    overrides: { TRANSPOSE_A: Number(transposeA), TRANSPOSE_B: Number(transposeB) },
    workgroups: [Math.ceil(n / (BLOCK * WORKGROUP_COLUMNS)), Math.ceil(m / (BLOCK * WORKGROUP_ROWS))],
    label: `${name} ${m}x${k}x${n}${transposeA ? ' A^T' : ''}${transposeB ? ' B^T' : ''}`,
    flops: 2 * m * n * k,
    bytes: 4 * (m * k + k * n + m * n),
  });
  return out;
}

/** a: [M, K], b: [K, N] -> [M, N]. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const out = gemm(a, b);
  return record(out, [a, b], 'matmul', (dy) => [
    // dA[M, K] = dY[M, N] B^T; dB[K, N] = A^T dY.
    a.requiresGrad ? gemm(dy, b, { transposeB: true, name: 'matmul dA' }) : null,
    b.requiresGrad ? gemm(a, dy, { transposeA: true, name: 'matmul dB' }) : null,
  ], [a, b]);
}

/** PyTorch's Linear: x [B, in], weight [out, in], bias [out] or null -> x weight^T + bias, [B, out]. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const out = gemm(x, weight, { transposeB: true, bias, name: 'linear' });
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(out, inputs, 'linear', (dy) => {
    const [batch, outFeatures] = dy.shape;
    return [
      // dx[B, in] = dY[B, out] W; dW[out, in] = dY^T x; db[out] = column sums of dY.
      x.requiresGrad ? gemm(dy, weight, { name: 'linear dx' }) : null,
      weight.requiresGrad ? gemm(dy, x, { transposeA: true, name: 'linear dW' }) : null,
      bias?.requiresGrad ? reduceOuterInner(dy, batch, outFeatures, 1, 1, bias.shape) : null,
    ];
  }, [x, weight]);
}
