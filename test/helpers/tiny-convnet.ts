// The adam_convnet golden vector's network rebuilt from the float64 reference ops, so a test can
// show the vector is reproducible: Conv2d(2,4,3,s1,p1,no bias) -> BatchNorm2d(4) -> LeakyReLU(0.2)
// -> ConvTranspose2d(4,3,4,s2,p1,bias) -> tanh, MSE loss, Adam; train mode throughout.

import * as reference from './reference.ts';

/** PyTorch state_dict names; num_batches_tracked is kept as a one-element array. */
export type ConvnetState = Record<string, Float64Array>;

const convOptions = { stride: 1, padding: 1 };
const deconvOptions = { stride: 2, padding: 1, outputPadding: 0 };
const convWeightShape = [4, 2, 3, 3] as const;
const deconvWeightShape = [4, 3, 4, 4] as const;
/** The order torch.optim.Adam sees the parameters in (net.parameters()). */
export const convnetParameterNames = ['conv.weight', 'bn.weight', 'bn.bias', 'deconv.weight', 'deconv.bias'] as const;

function get(state: ConvnetState, name: string): Float64Array {
  const value = state[name];
  if (!value) throw new Error(`convnet state has no "${name}"`);
  return value;
}

/** One forward and backward pass: the loss, parameter gradients, and the BN running stats it produces. */
export function convnetLossAndGrads(
  state: ConvnetState, input: Float64Array, inputShape: reference.Shape4, target: Float64Array,
): { loss: number; grads: ConvnetState; runningMean: Float64Array; runningVar: Float64Array } {
  const conv = reference.conv2dForward(input, inputShape, get(state, 'conv.weight'), convWeightShape, null, convOptions);
  const norm = reference.batchNorm2dTrainForward(conv.output, conv.outputShape, get(state, 'bn.weight'),
    get(state, 'bn.bias'), get(state, 'bn.running_mean'), get(state, 'bn.running_var'));
  const activated = reference.leakyReluForward(norm.output, 0.2);
  const deconv = reference.convTranspose2dForward(activated, conv.outputShape, get(state, 'deconv.weight'),
    deconvWeightShape, get(state, 'deconv.bias'), deconvOptions);
  const output = reference.tanhForward(deconv.output);

  const gradOutput = reference.mseBackward(output, target).gradInput;
  const gradDeconvOutput = reference.tanhBackward(gradOutput, output);
  const deconvGrads = reference.convTranspose2dBackward(gradDeconvOutput, activated, conv.outputShape,
    get(state, 'deconv.weight'), deconvWeightShape, deconvOptions);
  const gradNormOutput = reference.leakyReluBackward(deconvGrads.gradInput, norm.output, 0.2);
  const normGrads = reference.batchNorm2dTrainBackward(gradNormOutput, conv.output, conv.outputShape,
    get(state, 'bn.weight'), norm.mean, norm.variance);
  const convGrads = reference.conv2dBackward(normGrads.gradInput, input, inputShape, get(state, 'conv.weight'),
    convWeightShape, convOptions);
  return {
    loss: reference.mseForward(output, target),
    grads: {
      'conv.weight': convGrads.gradWeight,
      'bn.weight': normGrads.gradWeight,
      'bn.bias': normGrads.gradBias,
      'deconv.weight': deconvGrads.gradWeight,
      'deconv.bias': deconvGrads.gradBias,
    },
    runningMean: norm.runningMean,
    runningVar: norm.runningVar,
  };
}

/** Trains for `steps` Adam steps; returns the loss before each step and the final state_dict. */
export function trainConvnet(
  initial: ConvnetState, input: Float64Array, inputShape: reference.Shape4, target: Float64Array,
  steps: number, options: reference.AdamOptions,
): { losses: number[]; state: ConvnetState } {
  const state: ConvnetState = { ...initial };
  const optimizerStates = new Map(convnetParameterNames.map((name) => [name, reference.adamInitialState(get(state, name).length)]));
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const pass = convnetLossAndGrads(state, input, inputShape, target);
    losses.push(pass.loss);
    state['bn.running_mean'] = pass.runningMean;
    state['bn.running_var'] = pass.runningVar;
    state['bn.num_batches_tracked'] = Float64Array.of(get(state, 'bn.num_batches_tracked')[0]! + 1);
    for (const name of convnetParameterNames) {
      const result = reference.adamStep(get(state, name), get(pass.grads, name), optimizerStates.get(name)!, options);
      state[name] = result.param;
      optimizerStates.set(name, result.state);
    }
  }
  return { losses, state };
}
