// Reverse-mode autodiff with a tape. Each op records one node beside its forward (see engine/ops/):
// the node keeps (retains) the tensors its backward needs and releases them as soon as it has run.

import type { Engine } from './runtime.ts';
import { Tensor } from './tensor.ts';

export interface TapeNode {
  name: string;
  inputs: Tensor[];
  output: Tensor;
  /** Returns one gradient per input (null where the input needs none). */
  backward(gradOutput: Tensor): Array<Tensor | null>;
  saved: Tensor[];
}

interface TapeState {
  nodes: TapeNode[];
  disabled: number;
}

const tapes = new WeakMap<Engine, TapeState>();

function state(engine: Engine): TapeState {
  let tape = tapes.get(engine);
  if (!tape) tapes.set(engine, (tape = { nodes: [], disabled: 0 }));
  return tape;
}

export function isRecording(engine: Engine): boolean {
  return state(engine).disabled === 0;
}

/**
 * Records `output = op(inputs)` when any input requires a gradient. `saved` are the tensors
 * `backward` reads; they stay alive (even if their scope disposes them) until backward runs.
 */
export function record(
  output: Tensor,
  inputs: Tensor[],
  name: string,
  backward: (gradOutput: Tensor) => Array<Tensor | null>,
  saved: Tensor[] = [],
): Tensor {
  const tape = state(output.engine);
  if (tape.disabled > 0 || !inputs.some((t) => t.requiresGrad)) return output;
  output.requiresGrad = true;
  const node: TapeNode = { name, inputs, output, backward, saved: saved.map((t) => t.retain()) };
  output.gradFn = node;
  tape.nodes.push(node);
  return output;
}

/** Runs `fn` without recording (evaluation, optimizer updates, backward itself). */
export function noGrad<T>(engine: Engine, fn: () => T): T {
  const tape = state(engine);
  tape.disabled++;
  try {
    return fn();
  } finally {
    tape.disabled--;
  }
}

/** A tensor with the same values that the tape does not see through. */
export function detach(tensor: Tensor): Tensor {
  return tensor.engine.view(tensor, tensor.shape);
}

/** Marks a tensor as a trainable leaf. */
export function parameter(tensor: Tensor): Tensor {
  tensor.requiresGrad = true;
  return tensor;
}

export interface GradientMath {
  add(a: Tensor, b: Tensor): Tensor;
  ones(like: Tensor): Tensor;
  /** Adds gradients into leaves' `.grad`, possibly several in one dispatch, all by `flush`. */
  leafAdds(): { add(target: Tensor, addition: Tensor): void; flush(): void };
}

/**
 * Back-propagates from `loss` through the recorded nodes that lead to it, accumulating into `.grad`
 * of the leaves in place (so calls accumulate until the caller zeroes them, and gradients that live
 * in flat parameter storage stay there). Those nodes leave the tape and release what they saved;
 * nodes that do not lead to the loss stay for a later backward (a GAN's generator graph survives
 * the discriminator's backward through a detached fake). `math` comes from engine/ops/backward.ts.
 */
export function backwardWith(math: GradientMath, loss: Tensor, seedGradient?: Tensor): void {
  const engine = loss.engine;
  const tape = state(engine);
  const reachable = nodesLeadingTo(loss);
  const nodes = tape.nodes.filter((node) => reachable.has(node));
  tape.nodes = tape.nodes.filter((node) => !reachable.has(node));
  const grads = new Map<Tensor, Tensor>([[loss, seedGradient ?? engine.keep(math.ones(loss))]]);
  const leafAdds = math.leafAdds();
  noGrad(engine, () => {
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      const gradOutput = grads.get(node.output);
      grads.delete(node.output);
      if (gradOutput) {
        const inputGrads = node.backward(gradOutput);
        gradOutput.dispose();
        node.inputs.forEach((input, k) => accumulate(input, inputGrads[k] ?? null));
      }
      for (const tensor of node.saved) tensor.dispose();
      node.output.gradFn = null;
    }
    leafAdds.flush();
  });
  for (const leftover of grads.values()) leftover.dispose();

  function accumulate(input: Tensor, grad: Tensor | null): void {
    if (!grad) return;
    if (!input.requiresGrad) return grad.dispose();
    engine.keep(grad);
    if (input.gradFn) {
      const existing = grads.get(input);
      grads.set(input, existing ? sumAndDispose(existing, grad) : grad);
    } else if (input.grad) {
      leafAdds.add(input.grad, grad);
    } else {
      input.grad = grad;
    }
  }

  function sumAndDispose(a: Tensor, b: Tensor): Tensor {
    const sum = engine.keep(math.add(a, b));
    a.dispose();
    b.dispose();
    return sum;
  }
}

function nodesLeadingTo(loss: Tensor): Set<TapeNode> {
  const found = new Set<TapeNode>();
  const pending = loss.gradFn ? [loss.gradFn] : [];
  while (pending.length) {
    const node = pending.pop()!;
    if (found.has(node)) continue;
    found.add(node);
    for (const input of node.inputs) if (input.gradFn) pending.push(input.gradFn);
  }
  return found;
}

/** Drops recorded nodes without back-propagating (e.g. after a forward-only pass with grads on). */
export function clearTape(engine: Engine): void {
  for (const node of state(engine).nodes.splice(0)) {
    for (const tensor of node.saved) tensor.dispose();
    node.output.gradFn = null;
  }
}
