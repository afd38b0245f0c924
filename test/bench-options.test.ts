// The bench scripts' flag parsers (bench/options.ts): a bad value is refused before any timing starts,
// with a message that says what was expected.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgumentError } from 'commander';
import { byteSize, layerList, passList, tuningChange, wholeNumber } from '../bench/options.ts';

function refusal(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    assert.instance(error, InvalidArgumentError);
    return (error as Error).message;
  }
  throw new Error('expected the value to be refused');
}

test('whole numbers: at least the minimum, no fractions or text', () => {
  assert.is(wholeNumber(1)('20'), 20);
  assert.is(wholeNumber(0)('0'), 0);
  for (const bad of ['0', '2.5', 'x', '']) assert.match(refusal(() => wholeNumber(1)(bad)), 'whole number >= 1');
});

test('byte sizes: units from B to TiB, nothing else', () => {
  assert.is(byteSize('500MiB'), 500 * 2 ** 20);
  assert.is(byteSize('4G'), 4 * 2 ** 30);
  for (const bad of ['lots', '', '5 parsecs']) assert.match(refusal(() => byteSize(bad)), 'not a byte size');
});

test('layer and pass lists: known names only, layers in bench order', () => {
  assert.equal(layerList('S1,G2').map((l) => l.name), ['G2', 'S1']);
  assert.equal(passList('dw,fwd'), ['dw', 'fwd']);
  assert.match(refusal(() => layerList('G2,G9')), 'expected one of G1');
  assert.match(refusal(() => passList('fwd,bwd')), 'expected one of fwd, dx, dw');
});

test('--compare changes: convTuning fields and the values each may take', () => {
  assert.equal(tuningChange('gather=strip8,weightGrad=rows16,tileBuffers=1'), { gather: 'strip8', weightGrad: 'rows16', tileBuffers: '1' });
  assert.match(refusal(() => tuningChange('speed=2')), 'convTuning has no speed');
  assert.match(refusal(() => tuningChange('gather=strip5')), 'expected one of subgroup32');
  assert.match(refusal(() => tuningChange('weightGrad')), 'expected one of taps16');
});

test.run();
