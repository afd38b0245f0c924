// Softmax cross-entropy for classification (torch.nn.functional.cross_entropy, mean reduction),
// with its backward beside it. WGSL: shaders/cross_entropy.wgsl.

import { kernel } from '../kernel.ts';
import { record } from '../autograd.ts';
import type { Tensor } from '../tensor.ts';
import { shapeString } from '../tensor.ts';
import { linearGrid } from './grid.ts';
import { reduceOuterInner } from './reduce.ts';

const kernels = {
  rows: kernel('cross_entropy', 'cross_entropy_rows'),
  backward: kernel('cross_entropy', 'cross_entropy_backward'),
};

/**
 * logits [N, K], labels i32 [N] with values in [0, K) -> mean over rows of
 * logsumexp(logits[n]) - logits[n, labels[n]], as a [1] tensor. Labels are not checked on the GPU
 * (an out-of-range label reads a wrong logit); check them where they are made.
 */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  if (logits.shape.length !== 2) throw new Error(`crossEntropy: logits must be [N, K], got ${shapeString(logits.shape)}`);
  const [rows, classes] = logits.shape;
  if (labels.dtype !== 'i32' || labels.size !== rows) throw new Error(`crossEntropy: labels must be i32 [${rows}], got ${labels}`);
  if (classes < 1) throw new Error('crossEntropy: needs at least one class');
  const engine = logits.engine;
  const rowLoss = engine.empty([rows], 'f32', 'crossEntropy.rows');
  engine.run(kernels.rows, {
    buffers: { logits, labels, row_loss: rowLoss },
    params: { rows, classes },
    workgroups: linearGrid(rows),
    label: `crossEntropy ${shapeString(logits.shape)}`,
    bytes: logits.byteLength + 8 * rows,
  });
  const loss = reduceOuterInner(rowLoss, 1, 1, rows, 1 / Math.max(1, rows), [1]);
  rowLoss.dispose();
  return record(loss, [logits, labels], 'crossEntropy', (dy) => {
    if (!logits.requiresGrad) return [null, null];
    const grad = engine.empty(logits.shape, 'f32', 'crossEntropy.dx');
    engine.run(kernels.backward, {
      buffers: { logits, labels, dy, grad },
      params: { rows, classes },
      workgroups: linearGrid(logits.size),
      label: `crossEntropy backward ${shapeString(logits.shape)}`,
    });
    return [grad, null];
  }, [logits, labels]);
}
