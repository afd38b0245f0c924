// Safetensors checkpoints: round trips, float16 rounding, a PyTorch-written vector, and hostile files that must each
// fail with one clean BadInputFileError line (never a crash, a hang or a huge allocation).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BadInputFileError, UsageError } from '../engine/errors.ts';
import {
  bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits, parseSafetensors,
  serializeSafetensors, toBigInt64, toFloat32, toInt32, type SafetensorsInput,
} from '../engine/io/safetensors.ts';
import { readSafetensorsFile, writeFileAtomic, writeSafetensorsFileAtomic } from '../engine/io/safetensors-node.ts';
import { mulberry32 } from './helpers/random.ts';

const vectorPath = fileURLToPath(new URL('./reference/vectors/torch_small.safetensors', import.meta.url));
const expectedPath = fileURLToPath(new URL('./reference/vectors/torch_small.json', import.meta.url));

function sampleTensors(): SafetensorsInput[] {
  return [
    { name: 'blocks.0.conv.weight', dtype: 'F32', shape: [2, 1, 2, 2], data: Float32Array.from([1, -2, 0.5, 3e-9, -0, 7, 8, 1e30]) },
    { name: 'odd.bytes', dtype: 'U8', shape: [3], data: Uint8Array.from([0, 128, 255]) }, // misaligns what follows
    { name: 'blocks.0.bn.num_batches_tracked', dtype: 'I64', shape: [], data: BigInt64Array.from([2n ** 62n + 1n]) },
    { name: 'half.from.float', dtype: 'F16', shape: [3], data: Float32Array.from([0.1, -65504, 6e-8]) },
    { name: 'half.from.bits', dtype: 'F16', shape: [2], data: Uint16Array.from([0x3c00, 0xfc00]) },
    { name: 'brain.float', dtype: 'BF16', shape: [2], data: Float32Array.from([1.5, -3.140625]) },
    { name: 'int32s', dtype: 'I32', shape: [2, 2], data: Int32Array.from([-2147483648, 2147483647, 0, -1]) },
    { name: 'int16s', dtype: 'I16', shape: [2], data: Int16Array.from([-32768, 5]) },
    { name: 'int8s', dtype: 'I8', shape: [2], data: Int8Array.from([-128, 127]) },
    { name: 'mask', dtype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
    { name: 'doubles', dtype: 'F64', shape: [1], data: Float64Array.from([0.1]) },
    { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    { name: '__proto__', dtype: 'F32', shape: [1], data: Float32Array.from([4]) },
    { name: '0', dtype: 'F32', shape: [1], data: Float32Array.from([5]) },
    { name: 'ünïcode.名前', dtype: 'F32', shape: [1], data: Float32Array.from([6]) },
  ];
}

/** A file from a header given as text or JSON value, with `dataByteLength` zero bytes of data. */
function fileWithHeader(header: unknown, dataByteLength = 0): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + dataByteLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  return bytes;
}

function expectBadFile(action: () => unknown, fileName: string, reason: RegExp): void {
  try {
    action();
  } catch (error) {
    assert.instance(error, BadInputFileError, String(error));
    const message = (error as Error).message;
    assert.ok(message.startsWith(`${fileName}: `), message);
    assert.not.match(message, /[\r\n]/);
    assert.match(message, reason);
    return;
  }
  assert.unreachable(`expected BadInputFileError matching ${reason}`);
}

async function expectRejects(promise: Promise<unknown>, check: RegExp | ((error: unknown) => boolean) = () => true): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.ok(check instanceof RegExp ? check.test(String(error)) : check(error), String(error));
    return;
  }
  assert.unreachable('expected a rejection');
}

test('round trip keeps names, dtypes, shapes, values and metadata', () => {
  const input = sampleTensors();
  const bytes = serializeSafetensors(input, { format: 'pt', step: '12', __proto__x: 'y' });
  const headerByteLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.is((8 + headerByteLength) % 8, 0, 'data section starts 8-byte aligned');
  const file = parseSafetensors(bytes, 'round.safetensors');
  assert.equal(file.metadata, { format: 'pt', step: '12', __proto__x: 'y' });
  assert.equal([...file.tensors.keys()], input.map((tensor) => tensor.name), 'file order is the given order');
  const byName = (name: string) => file.tensors.get(name)!;
  assert.equal([...toFloat32(byName('blocks.0.conv.weight'))], [...input[0]!.data]);
  assert.equal([...byName('odd.bytes').data], [0, 128, 255]);
  assert.equal(byName('blocks.0.bn.num_batches_tracked').shape, []);
  assert.equal([...toBigInt64(byName('blocks.0.bn.num_batches_tracked'))], [2n ** 62n + 1n]);
  assert.equal([...toFloat32(byName('half.from.float'))], [0.0999755859375, -65504, 5.960464477539063e-8]);
  assert.equal([...toFloat32(byName('half.from.bits'))], [1, -Infinity]);
  assert.equal([...toFloat32(byName('brain.float'))], [1.5, -3.140625]);
  assert.equal([...toInt32(byName('int32s'))], [-2147483648, 2147483647, 0, -1]);
  assert.equal([...toInt32(byName('int16s'))], [-32768, 5]);
  assert.equal([...toBigInt64(byName('int8s'))], [-128n, 127n]);
  assert.equal([...toInt32(byName('mask'))], [1, 0]);
  assert.equal([...toFloat32(byName('doubles'))], [Math.fround(0.1)]);
  assert.equal(byName('empty').shape, [0, 3]);
  assert.is(toFloat32(byName('empty')).length, 0);
  assert.equal([...toFloat32(byName('__proto__'))], [4]);
  assert.equal([...toFloat32(byName('ünïcode.名前'))], [6]);
  assert.equal(serializeSafetensors(input, { format: 'pt', step: '12', __proto__x: 'y' }), bytes, 'deterministic bytes');
});

test('storeFloat32As stores F32 tensors as F16 or BF16, leaving other dtypes alone', () => {
  const input: SafetensorsInput[] = [
    { name: 'weight', dtype: 'F32', shape: [3], data: Float32Array.from([0.1, 1 + 2 ** -11, 70000]) },
    { name: 'count', dtype: 'I64', shape: [], data: BigInt64Array.from([3n]) },
  ];
  const half = parseSafetensors(serializeSafetensors(input, {}, { storeFloat32As: 'F16' }), 'half');
  assert.is(half.tensors.get('weight')!.dtype, 'F16');
  assert.equal([...toFloat32(half.tensors.get('weight')!)], [0.0999755859375, 1, Infinity]);
  assert.is(half.tensors.get('count')!.dtype, 'I64');
  const brain = parseSafetensors(serializeSafetensors(input, {}, { storeFloat32As: 'BF16' }), 'brain');
  assert.equal([...toFloat32(brain.tensors.get('weight')!)], [0.10009765625, 1, 70144]);
});

test('serializer rejects bad arguments with UsageError', () => {
  const weight = { name: 'w', dtype: 'F32', shape: [2], data: new Float32Array(2) } as const;
  assert.throws(() => serializeSafetensors([weight, weight]), (error: unknown) => error instanceof UsageError);
  assert.throws(() => serializeSafetensors([{ ...weight, shape: [3] }]), (error: unknown) => error instanceof UsageError);
  assert.throws(() => serializeSafetensors([{ ...weight, dtype: 'I32' }]), (error: unknown) => error instanceof UsageError);
  assert.throws(() => serializeSafetensors([{ ...weight, name: '__metadata__' }]), (error: unknown) => error instanceof UsageError);
  assert.throws(() => serializeSafetensors([weight], { bad: 1 as unknown as string }), (error: unknown) => error instanceof UsageError);
});

test('float16 conversion: every half value round-trips exactly', () => {
  for (let bits = 0; bits < 0x10000; bits += 1) {
    const value = float16BitsToFloat32(bits);
    if (Number.isNaN(value)) {
      assert.ok((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0);
      const back = float32ToFloat16Bits(value);
      assert.ok((back & 0x7c00) === 0x7c00 && (back & 0x3ff) !== 0, 'NaN stays NaN');
    } else {
      assert.is(float32ToFloat16Bits(value), bits, `bits 0x${bits.toString(16)}`);
    }
  }
});

test('float16 conversion: rounding, subnormals, overflow, signs', () => {
  const cases: Array<[number, number]> = [
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [1 + 2 ** -11 + 2 ** -20, 0x3c01],
    [65504, 0x7bff], [65519.99, 0x7bff], [65520, 0x7c00], [1e10, 0x7c00], [-1e10, 0xfc00],
    [Infinity, 0x7c00], [-Infinity, 0xfc00], [-0, 0x8000], [0, 0],
    [2 ** -24, 0x0001], [2 ** -25, 0x0000], [2 ** -25 * 1.0001, 0x0001], [1.5 * 2 ** -24, 0x0002],
    [2.5 * 2 ** -24, 0x0002], [2 ** -14 - 2 ** -25, 0x0400], [2 ** -14, 0x0400], [-(2 ** -30), 0x8000], [1e-45, 0],
  ];
  for (const [value, bits] of cases) assert.is(float32ToFloat16Bits(value), bits, `${value}`);
  assert.is(float16BitsToFloat32(0x0001), 2 ** -24);
  assert.is(float16BitsToFloat32(0x03ff), 1023 * 2 ** -24);
  assert.ok(Object.is(float16BitsToFloat32(0x8000), -0));
  // Nearest, ties to even, for random float32 values across the half range.
  const random = mulberry32(16);
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  for (let trial = 0; trial < 20000; trial += 1) {
    scratchBits[0] = ((random() * 0x47800000) | 0) | (random() < 0.5 ? 0x80000000 : 0); // |x| < 65536
    const value = scratch[0]!;
    const bits = float32ToFloat16Bits(value);
    const error = Math.abs(float16BitsToFloat32(bits) - value);
    for (const neighbour of [bits - 1, bits + 1]) {
      if ((neighbour & 0x7fff) > 0x7c00 || ((neighbour ^ bits) & 0x8000) !== 0) continue;
      const other = Math.abs(float16BitsToFloat32(neighbour) - value);
      assert.ok(error < other || (error === other && (bits & 1) === 0), `${value} -> 0x${bits.toString(16)}`);
    }
  }
});

test('bfloat16 conversion rounds to nearest even and keeps NaN', () => {
  assert.is(float32ToBfloat16Bits(1), 0x3f80);
  assert.is(float32ToBfloat16Bits(1 + 2 ** -8), 0x3f80);
  assert.is(float32ToBfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
  assert.is(float32ToBfloat16Bits(3.4e38), 0x7f80);
  assert.is(float32ToBfloat16Bits(-Infinity), 0xff80);
  assert.ok(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(NaN))));
  assert.is(bfloat16BitsToFloat32(0xc049), -3.140625);
});

test('reads the PyTorch-written vector with the values torch saved', async () => {
  const file = await readSafetensorsFile(vectorPath);
  const expected = JSON.parse(await readFile(expectedPath, 'utf8')) as {
    metadata: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; values: Array<number | string> }>;
  };
  assert.equal(file.metadata, expected.metadata);
  assert.equal([...file.tensors.keys()], Object.keys(expected.tensors));
  for (const [name, { dtype, shape, values }] of Object.entries(expected.tensors)) {
    const tensor = file.tensors.get(name)!;
    assert.is(tensor.dtype, dtype, name);
    assert.equal(tensor.shape, shape, name);
    if (dtype === 'I64') assert.equal([...toBigInt64(tensor, vectorPath)], values.map((value) => BigInt(value)), name);
    else if (dtype.startsWith('F') || dtype === 'BF16') assert.equal([...toFloat32(tensor, vectorPath)], values, name);
    else assert.equal([...toInt32(tensor, vectorPath)], values, name);
  }
  assert.equal([...toInt32(file.tensors.get('bn.num_batches_tracked')!)], [3]);
  expectBadFile(() => toInt32(file.tensors.get('int64_table')!, vectorPath), vectorPath, /int64_table.*outside the int32 range/);
  expectBadFile(() => toFloat32(file.tensors.get('int32_table')!, vectorPath), vectorPath, /dtype I32, expected a float dtype/);
  expectBadFile(() => toBigInt64(file.tensors.get('conv.bias')!, vectorPath), vectorPath, /expected an integer dtype/);
});

test('hostile headers each give one clean error line', () => {
  const name = 'bad.safetensors';
  const entry = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const cases: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array(5), /5 bytes, too short/],
    [fileWithHeader({ w: entry }, 8).subarray(0, 20), /more than the 12 bytes after it/],
    [(() => { const bytes = fileWithHeader({}); new DataView(bytes.buffer).setBigUint64(0, 2n ** 60n, true); return bytes; })(), /over the 100000000-byte limit/],
    [(() => { const bytes = fileWithHeader({}); new DataView(bytes.buffer).setBigUint64(0, 2n ** 64n - 1n, true); return bytes; })(), /over the/],
    [fileWithHeader('{"w": '), /not valid JSON/],
    [fileWithHeader(''), /not valid JSON/],
    [Uint8Array.from([...fileWithHeader('{}').subarray(0, 8), 0xff, 0xfe]).map((byte, index) => (index === 0 ? 2 : byte)), /not valid UTF-8/],
    [fileWithHeader([entry]), /not a JSON object/],
    [fileWithHeader('null'), /not a JSON object/],
    [fileWithHeader({ w: [1, 2] }), /tensor "w" is not an object/],
    [fileWithHeader({ w: { shape: [2], data_offsets: [0, 8] } }, 8), /no dtype string/],
    [fileWithHeader({ w: { dtype: 'F32', data_offsets: [0, 8] } }, 8), /no shape array/],
    [fileWithHeader({ w: { dtype: 'F32', shape: [2] } }, 8), /data_offsets undefined, not \[begin, end\]/],
    [fileWithHeader({ w: { ...entry, shape: [-2] } }, 8), /sizes must be non-negative integers/],
    [fileWithHeader({ w: { ...entry, shape: [1.5] } }, 8), /sizes must be non-negative integers/],
    [fileWithHeader({ w: { ...entry, shape: ['2'] } }, 8), /sizes must be non-negative integers/],
    [fileWithHeader({ w: { ...entry, shape: [2 ** 53] } }, 8), /sizes must be non-negative integers/],
    [fileWithHeader({ w: { ...entry, shape: [2 ** 52, 2 ** 52, 2 ** 52] } }, 8), /does not match its 8 bytes/],
    [fileWithHeader({ w: { ...entry, dtype: 'F8_E4M3' } }, 8), /unknown dtype "F8_E4M3"/],
    [fileWithHeader({ w: { ...entry, dtype: 'toString' } }, 8), /unknown dtype "toString"/],
    [fileWithHeader({ w: { ...entry, dtype: 4 } }, 8), /no dtype string/],
    [fileWithHeader({ w: { ...entry, data_offsets: [0, 16] } }, 8), /\[0, 16\] outside the 8-byte data section/],
    [fileWithHeader({ w: { ...entry, data_offsets: [8, 0] } }, 8), /outside/],
    [fileWithHeader({ w: { ...entry, data_offsets: [-8, 0] } }, 8), /outside/],
    [fileWithHeader({ w: { ...entry, data_offsets: [0, 8, 16] } }, 16), /not \[begin, end\]/],
    [fileWithHeader({ w: { ...entry, data_offsets: [0, '8'] } }, 8), /not \[begin, end\]/],
    [fileWithHeader({ w: entry, v: { ...entry, data_offsets: [4, 12] } }, 12), /tensors "w" and "v" overlap \(bytes 0-8 and 4-12\)/],
    [fileWithHeader({ w: { ...entry, shape: [100], data_offsets: [0, 400] }, v: { ...entry, data_offsets: [200, 208] } }, 400), /overlap/],
    [fileWithHeader({ w: { ...entry, shape: [3] } }, 8), /shape \[3\] of F32 that does not match its 8 bytes/],
    [fileWithHeader({ w: { ...entry, dtype: 'F16' } }, 8), /of F16 that does not match/],
    [fileWithHeader({ __metadata__: { step: 3 } }), /__metadata__ value "step" is not a string/],
    [fileWithHeader({ __metadata__: ['a'] }), /__metadata__ is not an object/],
    [fileWithHeader({ 'line\nbreak': { ...entry, dtype: 'X' } }, 8), /tensor "line\\nbreak" has unknown dtype/],
    [fileWithHeader({ ['x'.repeat(10000)]: { ...entry, dtype: 'X' } }, 8), /x\.\.\. has unknown dtype/],
  ];
  for (const [bytes, reason] of cases) expectBadFile(() => parseSafetensors(bytes, name), name, reason);
  // Zero-length tensors overlap nothing, and gaps between tensors are allowed.
  const fine = parseSafetensors(fileWithHeader({ w: entry, e: { dtype: 'I64', shape: [0], data_offsets: [4, 4] }, v: { ...entry, data_offsets: [12, 20] } }, 24), name);
  assert.equal([...fine.tensors.keys()], ['w', 'e', 'v']);
});

test('a file cut at any point is a clean error', () => {
  const bytes = serializeSafetensors(sampleTensors(), { format: 'pt' });
  for (let cut = 0; cut < bytes.length; cut += 1) {
    expectBadFile(() => parseSafetensors(bytes.slice(0, cut), 'cut.safetensors'), 'cut.safetensors', /./);
  }
});

test('seeded random mutations give a parse or a BadInputFileError, nothing else', () => {
  const original = serializeSafetensors(sampleTensors(), { format: 'pt' });
  const headerEnd = 8 + Number(new DataView(original.buffer).getBigUint64(0, true));
  const random = mulberry32(20240601);
  const pick = (count: number) => Math.floor(random() * count);
  let parsed = 0;
  for (let trial = 0; trial < 600; trial += 1) {
    let bytes = original.slice();
    for (let edit = 0, edits = 1 + pick(4); edit < edits; edit += 1) {
      // Mostly the header, where the structure lives; sometimes the length field or the data.
      const kind = pick(5);
      const position = kind === 0 ? pick(8) : kind === 1 ? pick(bytes.length) : 8 + pick(Math.max(1, headerEnd - 8));
      if (kind === 2) bytes[position] = '{}[]",:0123456789-.e "'.charCodeAt(pick(22));
      else if (kind === 3) bytes = Uint8Array.from([...bytes.subarray(0, position), pick(256), ...bytes.subarray(position)]);
      else if (kind === 4) bytes = Uint8Array.from([...bytes.subarray(0, position), ...bytes.subarray(position + 1)]);
      else bytes[position] = pick(256);
    }
    try {
      const file = parseSafetensors(bytes, 'mutant.safetensors');
      for (const tensor of file.tensors.values()) {
        assert.ok(tensor.data.buffer === bytes.buffer, 'tensors are views of the input');
        if (tensor.dtype.startsWith('F') || tensor.dtype === 'BF16') toFloat32(tensor);
      }
      parsed += 1;
    } catch (error) {
      assert.instance(error, BadInputFileError, `trial ${trial}: ${error}`);
      assert.ok((error as Error).message.startsWith('mutant.safetensors: '));
      assert.not.match((error as Error).message, /[\r\n]/);
    }
  }
  assert.ok(parsed > 0 && parsed < 600, `${parsed} of 600 mutants parsed`);
});

test('file reader: missing file, directory, truncated file and huge header length', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'safetensors-read-'));
  try {
    const missing = join(directory, 'missing.safetensors');
    await expectRejects(readSafetensorsFile(missing), (error: unknown) => error instanceof BadInputFileError && error.message === `${missing}: no such file`);
    await expectRejects(readSafetensorsFile(directory), (error: unknown) => error instanceof BadInputFileError && error.message === `${directory}: is a directory`);
    const truncated = join(directory, 'truncated.safetensors');
    const bytes = serializeSafetensors(sampleTensors());
    await writeFile(truncated, bytes.subarray(0, bytes.length - 1));
    await expectRejects(readSafetensorsFile(truncated), (error: unknown) => error instanceof BadInputFileError && /^\S+truncated\.safetensors: tensor .* outside the/.test(error.message));
    const huge = join(directory, 'huge.safetensors');
    const hugeBytes = fileWithHeader({});
    new DataView(hugeBytes.buffer).setBigUint64(0, 2n ** 60n, true);
    await writeFile(huge, hugeBytes);
    await expectRejects(readSafetensorsFile(huge), (error: unknown) => error instanceof BadInputFileError && /over the 100000000-byte limit/.test(error.message));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('atomic writer: round trip, failures leave the old file and no temp files', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'safetensors-write-'));
  try {
    const path = join(directory, 'model.safetensors');
    await writeSafetensorsFileAtomic(path, sampleTensors(), { step: '1' });
    const written = await readSafetensorsFile(path);
    assert.equal(written.metadata, { step: '1' });
    assert.equal([...toBigInt64(written.tensors.get('blocks.0.bn.num_batches_tracked')!)], [2n ** 62n + 1n]);
    const original = await readFile(path);
    assert.equal(await readdir(directory), ['model.safetensors']);

    const badTensor = { name: 'w', dtype: 'F32', shape: [5], data: new Float32Array(2) } as const;
    await expectRejects(writeSafetensorsFileAtomic(path, [badTensor]), (error: unknown) => error instanceof UsageError);
    function* failingChunks(): Generator<Uint8Array> {
      yield new Uint8Array(1000).fill(7);
      throw new Error('disk on fire');
    }
    await expectRejects(writeFileAtomic(path, failingChunks()), /disk on fire/);
    await mkdir(join(directory, 'occupied'));
    await expectRejects(writeSafetensorsFileAtomic(join(directory, 'occupied'), sampleTensors()));
    assert.equal(await readFile(path), original, 'old file untouched');
    assert.equal((await readdir(directory)).sort(), ['model.safetensors', 'occupied'], 'no temp files left');

    await writeSafetensorsFileAtomic(path, sampleTensors().slice(0, 1), {}, { storeFloat32As: 'F16' });
    assert.is((await readSafetensorsFile(path)).tensors.get('blocks.0.conv.weight')!.dtype, 'F16');
    assert.equal((await readdir(directory)).sort(), ['model.safetensors', 'occupied']);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test.run();
