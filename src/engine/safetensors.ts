import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic_write.js';
import type { NamedArrays } from './named_arrays.js';

/**
 * The safetensors format (huggingface/safetensors, "Format" section of its README), written from
 * the specification: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON mapping each tensor
 * name to {dtype, shape, data_offsets: [begin, end]} plus an optional "__metadata__" map of string
 * to string, then the byte buffer. Offsets are relative to the buffer's start; the tensors cover
 * it entirely, without overlaps or gaps. The JSON may be padded with spaces; harmofl pads it so the
 * buffer starts 8-byte aligned (the reference writer does too, so readers can map tensors in place).
 */

/** Tensors and metadata of a safetensors file. */
export interface SafetensorsContent {
  arrays: NamedArrays;
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
const ALIGNMENT = 8;

/** Element decoders to float32, little-endian (the format's byte order), by the dtypes harmofl reads. */
const READERS: Record<string, { size: number; read: (v: DataView, offset: number) => number }> = {
  F32: { size: 4, read: (v, o) => v.getFloat32(o, true) },
  F64: { size: 8, read: (v, o) => v.getFloat64(o, true) },
  F16: { size: 2, read: (v, o) => halfToFloat(v.getUint16(o, true)) },
  // bfloat16 is the high half of a float32.
  BF16: { size: 2, read: (v, o) => new Float32Array(new Uint32Array([v.getUint16(o, true) << 16]).buffer)[0]! },
};

/** Every dtype of the specification with its element size: known ones get a precise error, not "corrupt". */
const SIZES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** IEEE 754 half precision to a number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Encodes named float32 arrays (in their order, contiguous) and a string metadata map as safetensors chunks. */
export function encodeSafetensors(arrays: NamedArrays, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const [name, a] of Object.entries(arrays)) {
    if (name === METADATA_KEY) throw new Error(`a tensor cannot be named ${METADATA_KEY}`);
    if (a.data.length !== a.shape.reduce((p, d) => p * d, 1))
      throw new Error(`tensor ${name}: ${a.data.length} values for shape [${a.shape}]`);
    header[name] = { dtype: 'F32', shape: a.shape, data_offsets: [offset, offset + a.data.byteLength] };
    offset += a.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / ALIGNMENT) * ALIGNMENT;
  const prefix = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded), true);
  prefix.set(json, 8);
  // Float32Array bytes are little-endian on every platform Node runs on (as in named_arrays_file.ts).
  return [prefix, ...Object.values(arrays).map((a) => new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength))];
}

interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Options of `decodeSafetensors`. */
export interface DecodeOptions {
  /** Tensors to check for layout but not convert (e.g. PyTorch's integer `num_batches_tracked`). */
  skip?: (name: string) => boolean;
}

/** Decodes safetensors bytes to float32 arrays; every layout violation fails naming `source` and what is wrong. */
export function decodeSafetensors(bytes: Uint8Array, source: string, options: DecodeOptions = {}): SafetensorsContent {
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, not even the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) fail(`truncated: the header length says ${declared} bytes, only ${bytes.length - 8} follow`);
  const headerLength = Number(declared);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
  if (!text.startsWith('{')) fail('not a safetensors file (the JSON header must start with "{")');
  let parsed: Record<string, unknown>;
  try {
    // Valid JSON starting with "{" is an object.
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    return fail(`header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const { [METADATA_KEY]: rawMetadata, ...rawTensors } = parsed;
  const metadata = checkMetadata(rawMetadata, fail);
  const tensors = Object.entries(rawTensors).map(([name, info]) => checkTensor(name, info, fail));
  const dataStart = 8 + headerLength;
  const bufferLength = bytes.length - dataStart;
  // The tensors must tile the buffer: sorted by start, each begins where the previous one ended.
  let cursor = 0;
  let previous: string | undefined;
  for (const t of [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (t.end > bufferLength)
      fail(`tensor ${t.name}: data_offsets [${t.begin}, ${t.end}] reach past the ${bufferLength}-byte data buffer (truncated?)`);
    if (t.begin < cursor)
      fail(`tensor ${t.name}: data_offsets [${t.begin}, ${t.end}] overlap tensor ${previous} (which ends at ${cursor})`);
    if (t.begin > cursor)
      fail(`tensor ${t.name}: data_offsets start at ${t.begin}, leaving bytes ${cursor}..${t.begin} of the data buffer unused`);
    cursor = t.end;
    previous = t.name;
  }
  if (cursor !== bufferLength) fail(`the data buffer has ${bufferLength} bytes, the tensors cover ${cursor}`);
  const arrays: NamedArrays = {};
  for (const t of tensors) {
    if (options.skip?.(t.name) === true) continue;
    const reader = READERS[t.dtype];
    if (reader === undefined) return fail(`tensor ${t.name} has dtype ${t.dtype}; harmofl reads ${Object.keys(READERS).join(', ')}`);
    const data = new Float32Array((t.end - t.begin) / reader.size);
    if (t.dtype === 'F32') new Uint8Array(data.buffer).set(bytes.subarray(dataStart + t.begin, dataStart + t.end));
    else for (let i = 0; i < data.length; i++) data[i] = reader.read(view, dataStart + t.begin + i * reader.size);
    arrays[t.name] = { shape: t.shape, data };
  }
  return { arrays, metadata };
}

function checkMetadata(raw: unknown, fail: (why: string) => never): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(`${METADATA_KEY} is not a JSON object`);
  for (const [key, value] of Object.entries(raw)) if (typeof value !== 'string') fail(`${METADATA_KEY}.${key} is not a string`);
  return raw as Record<string, string>;
}

function checkTensor(name: string, raw: unknown, fail: (why: string) => never): TensorInfo {
  if (typeof raw !== 'object' || raw === null) return fail(`tensor ${name}: entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (typeof dtype !== 'string' || SIZES[dtype] === undefined) return fail(`tensor ${name}: unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isCount))
    return fail(`tensor ${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[1] < offsets[0])
    return fail(`tensor ${name}: data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end`);
  const [begin, end] = offsets as [number, number];
  const expected = shape.reduce((p: number, d: number) => p * d, 1) * SIZES[dtype];
  if (end - begin !== expected)
    fail(`tensor ${name}: shape [${shape}] of ${dtype} needs ${expected} bytes, data_offsets [${begin}, ${end}] hold ${end - begin}`);
  return { name, dtype, shape: shape as number[], begin, end };
}

/** Writes named arrays and metadata to `file` as safetensors, atomically. */
export async function writeSafetensors(file: string, arrays: NamedArrays, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(arrays, metadata));
}

/** Reads a safetensors file; errors name the file. */
export async function readSafetensors(file: string, options: DecodeOptions = {}): Promise<SafetensorsContent> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return decodeSafetensors(bytes, file, options);
}
