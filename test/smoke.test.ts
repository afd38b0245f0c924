import { test } from 'uvu';
import * as assert from 'uvu/assert';
const x: number = 1;
test('smoke', () => { assert.is(x, 1); });
test.run();
