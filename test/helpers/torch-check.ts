// Runs the committed PyTorch vector cases of some ops on the GPU: forward output and the gradient of
// every float input for the recorded upstream gradient. Returns the names of the cases it ran.

import type { Engine } from '../../engine/runtime.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { backward } from '../../engine/ops/backward.ts';
import { assertClose, type Tolerance } from './finite-diff.ts';
import { loadOpsVectors, tensorValues } from './torch-vectors.ts';

export type TorchOp = (inputs: Record<string, Tensor>, config: Record<string, unknown>) => Tensor;

export async function checkTorchCases(engine: Engine, ops: Record<string, TorchOp>, tolerance: Tolerance = { atol: 1e-5, rtol: 1e-4 }): Promise<string[]> {
  const seen: string[] = [];
  for (const [name, vector] of Object.entries(loadOpsVectors().cases)) {
    const op = ops[vector.op];
    if (!op) continue;
    const tensors: Record<string, Tensor> = {};
    for (const [inputName, entry] of Object.entries(vector.inputs)) {
      const integer = entry.dtype === 'int64';
      tensors[inputName] = engine.fromArray(tensorValues(entry), entry.shape, integer ? 'i32' : 'f32', inputName);
      tensors[inputName].requiresGrad = !integer;
    }
    const output = op(tensors, vector.config);
    const [actual] = await engine.read([output]);
    assertClose(actual, tensorValues(vector.outputs.output), tolerance, `${name} output`);
    const upstream = vector.grad_outputs!.output;
    backward(output, engine.fromArray(tensorValues(upstream), upstream.shape, 'f32', 'upstream'));
    for (const [inputName, expected] of Object.entries(vector.grads ?? {})) {
      const [grad] = await engine.read([tensors[inputName].grad!]);
      assertClose(grad, tensorValues(expected), tolerance, `${name} grad ${inputName}`);
    }
    for (const tensor of Object.values(tensors)) tensor.dispose();
    seen.push(name);
  }
  return seen.sort();
}
