import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../temp_dir.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors } from '../../src/engine/safetensors.js';
import type { NamedArrays } from '../../src/engine/named_arrays.js';

const concat = (chunks: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

/** A safetensors file assembled by hand: header JSON as given, padded with `pad` spaces, then `data`. */
function handMade(header: string, data: Uint8Array, pad = 0, declared?: number): Uint8Array {
  const json = new TextEncoder().encode(header + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declared ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const sample: NamedArrays = {
  'conv.weight': { shape: [2, 1, 1, 3], data: Float32Array.from([1, -2, 3.5, 0.25, 1e-8, -0]) },
  bias: { shape: [3], data: Float32Array.from([7, 8, 9]) },
  scalar: { shape: [], data: Float32Array.from([42]) },
};

test('the byte layout follows the specification: u64 LE header length, JSON header, 8-byte aligned contiguous data', () => {
  const bytes = concat(encodeSafetensors(sample, { format: 'pt', note: 'ü' }));
  const view = new DataView(bytes.buffer);
  // Header length: 8 bytes, little-endian u64, read here byte by byte.
  let n = 0;
  for (let i = 7; i >= 0; i--) n = n * 256 + bytes[i]!;
  assert.equal(Number(view.getBigUint64(0, true)), n);
  assert.equal((8 + n) % 8, 0, 'data starts 8-byte aligned');
  const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.equal(headerText[0], '{');
  assert.match(headerText, /^[^ ]*\} *$/, 'padding is trailing spaces only');
  const header = JSON.parse(headerText) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & {
    __metadata__: Record<string, string>;
  };
  assert.deepEqual(header.__metadata__, { format: 'pt', note: 'ü' });
  assert.deepEqual(header['conv.weight'], { dtype: 'F32', shape: [2, 1, 1, 3], data_offsets: [0, 24] });
  assert.deepEqual(header['bias'], { dtype: 'F32', shape: [3], data_offsets: [24, 36] });
  assert.deepEqual(header['scalar'], { dtype: 'F32', shape: [], data_offsets: [36, 40] });
  assert.equal(bytes.length, 8 + n + 40, 'the buffer holds exactly the tensors');
  // Values little-endian float32 at their offsets.
  const at = (offset: number): number => view.getFloat32(8 + n + offset, true);
  assert.equal(at(8), 3.5);
  assert.equal(at(20), -0);
  assert.equal(at(32), 9);
  assert.equal(at(36), 42);
  // Without metadata the header has no __metadata__ key.
  const plain = concat(encodeSafetensors({ bias: sample['bias']! }));
  const plainN = Number(new DataView(plain.buffer).getBigUint64(0, true));
  assert.deepEqual(Object.keys(JSON.parse(new TextDecoder().decode(plain.subarray(8, 8 + plainN))) as object), ['bias']);
});

test('round trip through a file keeps names, shapes, values and metadata, with no temp file left', async () => {
  const dir = await tempDir('harmofl-st-');
  const file = path.join(dir, 'a.safetensors');
  await writeSafetensors(file, sample, { harmofl: '{"a":1}' });
  assert.deepEqual(await readdir(dir), ['a.safetensors']);
  const back = await readSafetensors(file);
  assert.deepEqual(back.metadata, { harmofl: '{"a":1}' });
  assert.deepEqual(Object.keys(back.arrays), Object.keys(sample));
  for (const [name, a] of Object.entries(sample)) {
    assert.deepEqual(back.arrays[name]!.shape, a.shape);
    assert.deepEqual(back.arrays[name]!.data, a.data);
  }
  await assert.rejects(readSafetensors(path.join(dir, 'missing.safetensors')), /cannot read .*missing\.safetensors: ENOENT/);
});

test('reads a hand-made file with unordered entries, F16, BF16 and F64 tensors as float32', () => {
  const data = new Uint8Array(2 * 2 + 2 + 8);
  const v = new DataView(data.buffer);
  v.setFloat64(0, -1.5, true); // F64 first in the buffer, listed last in the JSON
  v.setUint16(8, 0x3c00, true); // F16 1.0
  v.setUint16(10, 0xc100, true); // F16 -2.5
  v.setUint16(12, 0x4049, true); // BF16 of 3.140625
  const header =
    '{"h":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"b":{"dtype":"BF16","shape":[1,1],"data_offsets":[12,14]},"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}';
  const { arrays, metadata } = decodeSafetensors(handMade(header, data, 5), 'x.safetensors');
  assert.deepEqual(metadata, {});
  assert.deepEqual([...arrays['h']!.data], [1, -2.5]);
  assert.deepEqual([...arrays['b']!.data], [3.140625]);
  assert.deepEqual(arrays['b']!.shape, [1, 1]);
  assert.deepEqual([...arrays['d']!.data], [-1.5]);
});

test('every malformed file fails naming the file and what is wrong', () => {
  const four = new Uint8Array(8);
  const entry = (name: string, dtype: string, shape: number[], begin: number, end: number): string =>
    `"${name}":{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${begin},${end}]}`;
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['shorter than 8 bytes', new Uint8Array(3), /bad\.st: truncated: 3 bytes/],
    [
      'header length past the end',
      handMade(`{${entry('a', 'F32', [2], 0, 8)}}`, four, 0, 1000),
      /bad\.st: truncated: the header length says 1000 bytes/,
    ],
    ['bad JSON', handMade('{"a": [1,', four), /bad\.st: header is not valid JSON/],
    ['not starting with {', handMade('[1]', four), /bad\.st: not a safetensors file/],
    ['unknown dtype', handMade(`{${entry('a', 'F33', [2], 0, 8)}}`, four), /bad\.st: tensor a: unknown dtype "F33"/],
    [
      'byte count not matching the shape',
      handMade(`{${entry('a', 'F32', [3], 0, 8)}}`, four),
      /bad\.st: tensor a: shape \[3\] of F32 needs 12 bytes, data_offsets \[0, 8\] hold 8/,
    ],
    [
      'end before begin',
      handMade(`{${entry('a', 'F32', [0], 8, 0)}}`, four),
      /bad\.st: tensor a: data_offsets \[8,0\] is not \[begin, end\]/,
    ],
    [
      'negative shape',
      handMade(`{${entry('a', 'F32', [-2], 0, 8)}}`, four),
      /bad\.st: tensor a: shape \[-2\] is not a list of non-negative integers/,
    ],
    [
      'out of range',
      handMade(`{${entry('a', 'F32', [4], 0, 16)}}`, four),
      /bad\.st: tensor a: data_offsets \[0, 16\] reach past the 8-byte data buffer/,
    ],
    [
      'overlap',
      handMade(`{${entry('a', 'F32', [2], 0, 8)},${entry('b', 'F32', [1], 4, 8)}}`, four),
      /bad\.st: tensor b: data_offsets \[4, 8\] overlap tensor a/,
    ],
    ['gap', handMade(`{${entry('a', 'F32', [1], 4, 8)}}`, four), /bad\.st: tensor a: data_offsets start at 4, leaving bytes 0\.\.4/],
    ['trailing bytes', handMade(`{${entry('a', 'F32', [1], 0, 4)}}`, four), /bad\.st: the data buffer has 8 bytes, the tensors cover 4/],
    [
      'metadata not strings',
      handMade(`{"__metadata__":{"k":1},${entry('a', 'F32', [2], 0, 8)}}`, four),
      /bad\.st: __metadata__\.k is not a string/,
    ],
    [
      'integer dtype',
      handMade(`{${entry('a', 'I64', [1], 0, 8)}}`, four),
      /bad\.st: tensor a has dtype I64; harmofl reads F32, F64, F16, BF16/,
    ],
  ];
  for (const [what, bytes, error] of cases) assert.throws(() => decodeSafetensors(bytes, 'bad.st'), error, what);
  // A skipped tensor is still checked for layout, but its dtype need not convert.
  const mixed = handMade(`{${entry('a', 'I64', [1], 0, 8)}}`, four);
  assert.deepEqual(decodeSafetensors(mixed, 'ok.st', { skip: (n) => n === 'a' }).arrays, {});
});

test('encoding refuses a value count that does not match the shape', () => {
  assert.throws(() => encodeSafetensors({ a: { shape: [2, 2], data: new Float32Array(3) } }), /tensor a: 3 values for shape \[2,2\]/);
});
