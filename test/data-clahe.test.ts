// CLAHE against committed OpenCV vectors (test/reference/make_clahe_vectors.py) and box downsampling exactness.

import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clahe } from '../pipeline/data/clahe.ts';
import { makeGreyImage } from '../pipeline/data/image.ts';
import { boxDownsample, downsampleTo, resizeArea } from '../pipeline/data/resize.ts';

interface Vector { name: string; width: number; height: number; input: string; expected: string }

const vectorFile = new URL('./reference/vectors/clahe.json', import.meta.url);
const vectors = (JSON.parse(readFileSync(vectorFile, 'utf8')) as { vectors: Vector[] }).vectors;

for (const vector of vectors) {
  test(`clahe matches OpenCV within 1 grey level: ${vector.name}`, () => {
    const input = new Uint8Array(Buffer.from(vector.input, 'base64'));
    const expected = new Uint8Array(Buffer.from(vector.expected, 'base64'));
    const output = clahe(makeGreyImage(vector.width, vector.height, input));
    assert.is(output.width, vector.width);
    assert.is(output.height, vector.height);
    let worst = 0;
    let differing = 0;
    for (let index = 0; index < expected.length; index++) {
      const difference = Math.abs(output.data[index]! - expected[index]!);
      worst = Math.max(worst, difference);
      if (difference > 0) differing++;
    }
    assert.ok(worst <= 1, `${vector.name}: max difference ${worst}, ${differing} pixels differ`);
  });
}

test('vectors cover flat, high-contrast and non-multiple-of-8 sizes', () => {
  const names = vectors.map((vector) => vector.name);
  assert.ok(names.some((name) => name.startsWith('flat')));
  assert.ok(names.some((name) => name.startsWith('half-black-white')));
  assert.ok(vectors.some((vector) => vector.width % 8 !== 0 || vector.height % 8 !== 0));
});

test('box2 and box4 are block means rounded half up', () => {
  // blocks [1,2,3,4] -> 2.5 -> 3 ; [0,0,0,1] -> 0.25 -> 0 ; [255,255,255,254] -> 254.75 -> 255 ; [1,1,2,2] -> 1.5 -> 2
  const image = makeGreyImage(4, 4, Uint8Array.from([1, 2, 0, 0, 3, 4, 0, 1, 255, 255, 1, 1, 255, 254, 2, 2]));
  assert.equal(Array.from(boxDownsample(image, 2).data), [3, 0, 255, 2]);
  const sixteen = makeGreyImage(4, 4, Uint8Array.from({ length: 16 }, (_, index) => (index < 8 ? 1 : 0)));
  assert.equal(Array.from(boxDownsample(sixteen, 4).data), [1]); // 8/16 = 0.5 rounds up
  const seven = makeGreyImage(4, 4, Uint8Array.from({ length: 16 }, (_, index) => (index < 7 ? 1 : 0)));
  assert.equal(Array.from(boxDownsample(seven, 4).data), [0]);
});

test('box downsample equals a brute-force mean on random data', () => {
  const width = 32;
  const data = Uint8Array.from({ length: width * width }, (_, index) => (index * 2654435761) >>> 24);
  const output = boxDownsample(makeGreyImage(width, width, data), 4);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      let sum = 0;
      for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) sum += data[(y * 4 + dy) * width + x * 4 + dx]!;
      assert.is(output.data[y * 8 + x], Math.floor(sum / 16 + 0.5));
    }
  }
});

test('area resize equals box when the ratio is an integer and keeps flat images flat', () => {
  const data = Uint8Array.from({ length: 64 }, (_, index) => (index * 37) % 256);
  const image = makeGreyImage(8, 8, data);
  assert.equal(Array.from(resizeArea(image, 4, 4).data), Array.from(boxDownsample(image, 2).data));
  const flat = resizeArea(makeGreyImage(10, 6, new Uint8Array(60).fill(77)), 4, 4);
  assert.ok(flat.data.every((value) => value === 77));
  assert.is(downsampleTo(makeGreyImage(12, 12), 4, 4).width, 4);
});

test.run();
