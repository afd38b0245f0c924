// Reads and writes safetensors checkpoints with PyTorch's tensor names, so `torch` can `load_state_dict` them.
// Browser-safe (no Node imports): the reader validates the whole header against the byte count before touching data.
import { BadInputFileError, UsageError } from '../errors.ts';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from './float16.ts';

export { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits };

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of every dtype this module knows; any other dtype in a file is an error. */
export const dtypeByteSize: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** The reference implementation's cap; a bigger header is hostile, not a checkpoint. */
export const maxHeaderByteLength = 100_000_000;

export interface SafetensorsHeaderEntry { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }
export interface SafetensorsHeader { metadata: Record<string, string>; entries: SafetensorsHeaderEntry[] }
/** `data` is a view into the file's bytes (little-endian, possibly unaligned); use the `to*` helpers to read it. */
export interface SafetensorsTensor { name: string; dtype: SafetensorsDtype; shape: number[]; data: Uint8Array }
export interface SafetensorsFile { fileName: string; metadata: Record<string, string>; tensors: Map<string, SafetensorsTensor> }

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Keeps text taken from a hostile file short and on one line inside an error message. */
function quote(value: unknown, maxLength = 80): string {
  const text = (JSON.stringify(value) ?? String(value)).replace(/\s+/g, ' ');
  return text.length > maxLength ? `${text.slice(0, maxLength)}...` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(dtypeByteSize, value);
}

/** Product of the dimensions; a scalar (shape []) has one element. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

/** Reads the 8-byte little-endian header length and checks it fits the file and the cap. */
export function readHeaderByteLength(prefix: Uint8Array, fileByteLength: number, fileName: string): number {
  if (fileByteLength < 8 || prefix.length < 8) {
    throw new BadInputFileError(fileName, `file is ${fileByteLength} bytes, too short for the 8-byte header length`);
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(maxHeaderByteLength)) {
    throw new BadInputFileError(fileName, `header length ${length} is over the ${maxHeaderByteLength}-byte limit`);
  }
  if (length > BigInt(fileByteLength - 8)) {
    throw new BadInputFileError(fileName, `header length ${length} is more than the ${fileByteLength - 8} bytes after it (truncated file?)`);
  }
  return Number(length);
}

function validateMetadata(value: unknown, fail: (reason: string) => never): Record<string, string> {
  if (!isObject(value)) fail(`__metadata__ is not an object`);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') fail(`__metadata__ value ${quote(key)} is not a string`);
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays plain data.
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function validateEntry(name: string, value: unknown, dataByteLength: number, fail: (reason: string) => never): SafetensorsHeaderEntry {
  const where = `tensor ${quote(name)}`;
  if (!isObject(value)) fail(`${where} is not an object`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') fail(`${where} has no dtype string`);
  if (!isDtype(dtype)) fail(`${where} has unknown dtype ${quote(dtype)}`);
  if (!Array.isArray(shape)) fail(`${where} has no shape array`);
  for (const size of shape) {
    if (!Number.isSafeInteger(size) || size < 0) fail(`${where} has shape ${quote(shape)}: sizes must be non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((offset) => Number.isSafeInteger(offset))) {
    fail(`${where} has data_offsets ${quote(offsets)}, not [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin < 0 || begin > end || end > dataByteLength) {
    fail(`${where} has data_offsets [${begin}, ${end}] outside the ${dataByteLength}-byte data section`);
  }
  // Multiply with an early exit so a hostile shape cannot overflow past the byte count it must match.
  const spanBytes = end - begin;
  let neededBytes = shape.includes(0) ? 0 : dtypeByteSize[dtype];
  for (const size of shape) {
    neededBytes *= size;
    if (neededBytes > spanBytes) break;
  }
  if (neededBytes !== spanBytes) {
    fail(`${where} has shape ${quote(shape, 40)} of ${dtype} that does not match its ${spanBytes} bytes`);
  }
  return { name, dtype, shape: shape.slice() as number[], begin, end };
}

/** Checks the header JSON completely: shapes, dtypes, offsets inside `dataByteLength`, no overlaps. */
export function validateHeader(headerBytes: Uint8Array, dataByteLength: number, fileName: string): SafetensorsHeader {
  const fail = (reason: string): never => { throw new BadInputFileError(fileName, reason); };
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    fail('header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    fail(`header is not valid JSON (${quote((error as Error).message, 60)})`);
  }
  if (!isObject(parsed)) fail('header is not a JSON object');
  let metadata: Record<string, string> = {};
  const entries: SafetensorsHeaderEntry[] = [];
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') metadata = validateMetadata(value, fail);
    else entries.push(validateEntry(name, value, dataByteLength, fail));
  }
  // File order, not JSON key order: JS objects put integer-like keys first.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let previous: SafetensorsHeaderEntry | undefined;
  for (const entry of entries) {
    if (entry.begin === entry.end) continue;
    if (previous !== undefined && entry.begin < previous.end) {
      fail(`tensors ${quote(previous.name, 40)} and ${quote(entry.name, 40)} overlap (bytes ${previous.begin}-${previous.end} and ${entry.begin}-${entry.end})`);
    }
    if (previous === undefined || entry.end > previous.end) previous = entry;
  }
  return { metadata, entries };
}

/** Pairs a validated header with its data section; tensors become views of `data`, in file order. */
export function attachData(header: SafetensorsHeader, data: Uint8Array, fileName: string): SafetensorsFile {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const { name, dtype, shape, begin, end } of header.entries) {
    if (end > data.length) throw new BadInputFileError(fileName, `tensor ${quote(name)} ends past the data section`);
    tensors.set(name, { name, dtype, shape, data: data.subarray(begin, end) });
  }
  return { fileName, metadata: header.metadata, tensors };
}

/** Parses a whole safetensors file held in memory; the tensors are views of `bytes`, not copies. */
export function parseSafetensors(bytes: Uint8Array, fileName: string): SafetensorsFile {
  const headerByteLength = readHeaderByteLength(bytes, bytes.length, fileName);
  const dataStart = 8 + headerByteLength;
  const header = validateHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, fileName);
  return attachData(header, bytes.subarray(dataStart), fileName);
}

function swapElementBytes(bytes: Uint8Array, elementSize: number): Uint8Array {
  const swapped = new Uint8Array(bytes.length);
  for (let element = 0; element < bytes.length; element += elementSize) {
    for (let byte = 0; byte < elementSize; byte += 1) swapped[element + byte] = bytes[element + elementSize - 1 - byte]!;
  }
  return swapped;
}

type ArrayConstructor<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

/** A typed view of little-endian bytes: no copy when aligned on a little-endian host, a copy otherwise. */
function viewAs<T>(constructor: ArrayConstructor<T>, bytes: Uint8Array): T {
  const size = constructor.BYTES_PER_ELEMENT;
  const count = bytes.byteLength / size;
  if (hostIsLittleEndian && bytes.byteOffset % size === 0) return new constructor(bytes.buffer, bytes.byteOffset, count);
  const copy = hostIsLittleEndian ? bytes.slice() : swapElementBytes(bytes, size);
  return new constructor(copy.buffer, 0, count);
}

function wrongDtype(tensor: SafetensorsTensor, fileName: string, wanted: string): BadInputFileError {
  return new BadInputFileError(fileName, `tensor ${quote(tensor.name)} has dtype ${tensor.dtype}, expected ${wanted}`);
}

/** Float values of an F32/F16/BF16/F64 tensor. An aligned F32 tensor is returned as a view of the file bytes. */
export function toFloat32(tensor: SafetensorsTensor, fileName = 'safetensors'): Float32Array {
  switch (tensor.dtype) {
    case 'F32': return viewAs(Float32Array, tensor.data);
    case 'F64': return Float32Array.from(viewAs(Float64Array, tensor.data));
    case 'F16': return Float32Array.from(viewAs(Uint16Array, tensor.data), float16BitsToFloat32);
    case 'BF16': {
      const bits = viewAs(Uint16Array, tensor.data);
      const widened = new Uint32Array(bits.length);
      for (let index = 0; index < bits.length; index += 1) widened[index] = bits[index]! << 16;
      return new Float32Array(widened.buffer);
    }
    default: throw wrongDtype(tensor, fileName, 'a float dtype');
  }
}

function integerView(tensor: SafetensorsTensor): Int32Array | Int16Array | Int8Array | Uint8Array | undefined {
  switch (tensor.dtype) {
    case 'I32': return viewAs(Int32Array, tensor.data);
    case 'I16': return viewAs(Int16Array, tensor.data);
    case 'I8': return viewAs(Int8Array, tensor.data);
    case 'U8': case 'BOOL': return tensor.data;
    default: return undefined;
  }
}

/** Values of an integer tensor as int64 (I64 as a view when aligned; narrower integers widened). */
export function toBigInt64(tensor: SafetensorsTensor, fileName = 'safetensors'): BigInt64Array {
  if (tensor.dtype === 'I64') return viewAs(BigInt64Array, tensor.data);
  const narrow = integerView(tensor);
  if (narrow === undefined) throw wrongDtype(tensor, fileName, 'an integer dtype');
  return BigInt64Array.from(narrow, (value) => BigInt(value));
}

/** Values of an integer tensor as int32; I64 values outside the int32 range are an error, not silently wrapped. */
export function toInt32(tensor: SafetensorsTensor, fileName = 'safetensors'): Int32Array {
  if (tensor.dtype === 'I64') {
    const wide = viewAs(BigInt64Array, tensor.data);
    return Int32Array.from(wide, (value) => {
      if (value < -2147483648n || value > 2147483647n) throw new BadInputFileError(fileName, `tensor ${quote(tensor.name)} has value ${value} outside the int32 range`);
      return Number(value);
    });
  }
  const narrow = integerView(tensor);
  if (narrow === undefined) throw wrongDtype(tensor, fileName, 'an integer dtype');
  return narrow instanceof Int32Array ? narrow : Int32Array.from(narrow);
}

export type TensorData = Float64Array | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

/** One tensor to write. F16 and BF16 take float values (Float32Array) or raw bits (Uint16Array). */
export interface SafetensorsInput { name: string; dtype: SafetensorsDtype; shape: readonly number[]; data: TensorData }
/** `storeFloat32As: 'F16'` halves shipped files: every F32 tensor given as a Float32Array is stored as F16. */
export interface SerializeOptions { storeFloat32As?: 'F32' | 'F16' | 'BF16' }
export interface SafetensorsPlan { byteLength: number; chunks(): Generator<Uint8Array> }

const acceptedData: Record<SafetensorsDtype, ReadonlyArray<Function>> = {
  F64: [Float64Array], F32: [Float32Array], F16: [Float32Array, Uint16Array], BF16: [Float32Array, Uint16Array],
  I64: [BigInt64Array], I32: [Int32Array], I16: [Int16Array], I8: [Int8Array], U8: [Uint8Array], BOOL: [Uint8Array],
};

/** The bytes as stored in the file; a view of `data` when no conversion or byte swap is needed. */
function encodeTensor(dtype: SafetensorsDtype, data: TensorData): Uint8Array {
  let stored: TensorData = data;
  if ((dtype === 'F16' || dtype === 'BF16') && data instanceof Float32Array) {
    stored = Uint16Array.from(data, dtype === 'F16' ? float32ToFloat16Bits : float32ToBfloat16Bits);
  }
  const bytes = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
  return hostIsLittleEndian ? bytes : swapElementBytes(bytes, stored.BYTES_PER_ELEMENT);
}

/**
 * Checks every tensor and lays out the file: header (padded with spaces so data starts 8-byte aligned), then the
 * tensors contiguously in the given order. `chunks()` encodes one tensor at a time so writers need not hold the file.
 */
export function planSafetensors(tensors: readonly SafetensorsInput[], metadata: Record<string, string> = {}, options: SerializeOptions = {}): SafetensorsPlan {
  const headerParts: string[] = [];
  const metadataEntries = Object.entries(metadata);
  for (const [key, value] of metadataEntries) {
    if (typeof value !== 'string') throw new UsageError(`safetensors metadata ${quote(key)} must be a string`);
  }
  if (metadataEntries.length > 0) {
    headerParts.push(`"__metadata__":{${metadataEntries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`);
  }
  const planned: Array<{ dtype: SafetensorsDtype; data: TensorData }> = [];
  const names = new Set<string>();
  let dataByteLength = 0;
  for (const { name, dtype: givenDtype, shape, data } of tensors) {
    const where = `safetensors tensor ${quote(name)}`;
    if (name === '__metadata__' || names.has(name)) throw new UsageError(`${where}: name is reserved or repeated`);
    names.add(name);
    if (!isDtype(givenDtype)) throw new UsageError(`${where}: unknown dtype ${quote(givenDtype)}`);
    const dtype = givenDtype === 'F32' && data instanceof Float32Array ? options.storeFloat32As ?? 'F32' : givenDtype;
    if (!acceptedData[dtype].some((constructor) => data instanceof constructor)) {
      throw new UsageError(`${where}: ${data?.constructor?.name} data cannot be stored as ${dtype}`);
    }
    if (!shape.every((size) => Number.isSafeInteger(size) && size >= 0) || elementCount(shape) !== data.length) {
      throw new UsageError(`${where}: shape ${quote(shape)} does not match ${data.length} elements`);
    }
    const byteLength = data.length * dtypeByteSize[dtype];
    headerParts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${dataByteLength},${dataByteLength + byteLength}]}`);
    dataByteLength += byteLength;
    planned.push({ dtype, data });
  }
  const json = new TextEncoder().encode(`{${headerParts.join(',')}}`);
  const headerByteLength = Math.ceil(json.length / 8) * 8;
  const prefix = new Uint8Array(8 + headerByteLength).fill(0x20);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerByteLength), true);
  prefix.set(json, 8);
  return {
    byteLength: prefix.length + dataByteLength,
    *chunks() {
      yield prefix;
      for (const { dtype, data } of planned) yield encodeTensor(dtype, data);
    },
  };
}

/** The whole file in one buffer; see `planSafetensors` for the layout. */
export function serializeSafetensors(tensors: readonly SafetensorsInput[], metadata: Record<string, string> = {}, options: SerializeOptions = {}): Uint8Array {
  const plan = planSafetensors(tensors, metadata, options);
  const bytes = new Uint8Array(plan.byteLength);
  let offset = 0;
  for (const chunk of plan.chunks()) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
