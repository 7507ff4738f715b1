import type { NamedArrays } from './named_arrays.js';

/**
 * A binary container for named float arrays plus a JSON header: 4-byte magic, header length,
 * the header (with each array's name, shape and offset), padding, then raw little-endian float32.
 * Model files and checkpoints use it; JSON would be ~3x larger and slow for millions of weights.
 */
export function encodeArraysFile(magic: string, header: object, arrays: NamedArrays): Uint8Array[] {
  const entries: Array<{ name: string; shape: number[]; offset: number; length: number }> = [];
  let offset = 0;
  for (const [name, a] of Object.entries(arrays)) {
    entries.push({ name, shape: a.shape, offset, length: a.data.length });
    offset += a.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify({ ...header, entries }));
  const pad = (4 - ((8 + json.length) % 4)) % 4;
  const prefix = new Uint8Array(8 + json.length + pad);
  prefix.set(new TextEncoder().encode(magic.padEnd(4).slice(0, 4)), 0);
  new DataView(prefix.buffer).setUint32(4, json.length, true);
  prefix.set(json, 8);
  return [prefix, ...Object.values(arrays).map((a) => new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength))];
}

/** Decodes `encodeArraysFile` bytes; `source` names the file and `kind` what it should be, in errors. */
export function decodeArraysFile<H extends object>(
  bytes: Uint8Array,
  magic: string,
  source: string,
  kind: string,
): { header: H; arrays: NamedArrays } {
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== magic) fail(`not a harmofl ${kind} file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLength = view.getUint32(4, true);
  if (8 + jsonLength > bytes.length) fail('truncated header');
  let header: H & { entries: Array<{ name: string; shape: number[]; offset: number; length: number }> };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + jsonLength))) as typeof header;
  } catch {
    return fail('corrupt header');
  }
  const start = 8 + jsonLength + ((4 - ((8 + jsonLength) % 4)) % 4);
  const floats = header.entries.reduce((a, e) => a + e.length, 0);
  if (bytes.length !== start + floats * 4) fail(`expected ${start + floats * 4} bytes, found ${bytes.length} (truncated or corrupt)`);
  // Copy: a Node Buffer's slice is a view whose .buffer starts elsewhere.
  const payload = new Float32Array(floats);
  new Uint8Array(payload.buffer).set(bytes.subarray(start));
  const arrays: NamedArrays = {};
  for (const e of header.entries) arrays[e.name] = { shape: e.shape, data: payload.subarray(e.offset, e.offset + e.length) };
  const rest = Object.fromEntries(Object.entries(header).filter(([key]) => key !== 'entries'));
  return { header: rest as H, arrays };
}
