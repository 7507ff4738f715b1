import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeNpy, encodeNpy, NpyError, type NpyArray } from '../../src/flower/npy.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// What NumPy 1.24.2 writes with np.save(buf, a, allow_pickle=False), recorded once.
const NUMPY_FLOAT32_3 =
  '934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0000c03f000000c000005040';
const NUMPY_INT64_2x2 =
  '934e554d5059010076007b276465736372273a20273c6938272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2032292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0100000000000000020000000000000003000000000000000400000000000000';
const NUMPY_BOOL_SCALAR =
  '934e554d5059010076007b276465736372273a20277c6231272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a01';

test('npy: float32, int64 and 0-d bool encode byte for byte as NumPy writes them', () => {
  assert.equal(hex(encodeNpy({ dtype: 'float32', shape: [3], data: Float32Array.of(1.5, -2, 3.25) })), NUMPY_FLOAT32_3);
  assert.equal(hex(encodeNpy({ dtype: 'int64', shape: [2, 2], data: BigInt64Array.of(1n, 2n, 3n, 4n) })), NUMPY_INT64_2x2);
  assert.equal(hex(encodeNpy({ dtype: 'bool', shape: [], data: Uint8Array.of(1) })), NUMPY_BOOL_SCALAR);
});

test('npy: header layout per the format spec (magic, version 1.0, u16 LE length, 64-byte aligned, newline-terminated)', () => {
  for (const [dtype, descr, data] of [
    ['float32', '<f4', new Float32Array(6)],
    ['float64', '<f8', new Float64Array(6)],
    ['int64', '<i8', new BigInt64Array(6)],
    ['int32', '<i4', new Int32Array(6)],
    ['uint8', '|u1', new Uint8Array(6)],
    ['bool', '|b1', new Uint8Array(6)],
  ] as const) {
    const bytes = encodeNpy({ dtype, shape: [2, 3], data } as NpyArray);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLength = bytes[8]! | (bytes[9]! << 8);
    assert.equal((10 + headerLength) % 64, 0, `${dtype}: data starts on a 64-byte boundary`);
    const header = Buffer.from(bytes.subarray(10, 10 + headerLength)).toString('latin1');
    assert.ok(header.startsWith(`{'descr': '${descr}', 'fortran_order': False, 'shape': (2, 3), }`), header);
    assert.ok(header.endsWith('\n'));
    assert.equal(bytes.length, 10 + headerLength + data.byteLength);
  }
});

test('npy: every dtype decodes back to its values, shape and dtype', () => {
  const arrays: NpyArray[] = [
    { dtype: 'float32', shape: [2, 2], data: Float32Array.of(0.5, -1, 3, 1e-8) },
    { dtype: 'float64', shape: [3], data: Float64Array.of(Math.PI, -0, 1e300) },
    { dtype: 'int64', shape: [1], data: BigInt64Array.of(-(2n ** 62n)) },
    { dtype: 'int32', shape: [2], data: Int32Array.of(-7, 2 ** 30) },
    { dtype: 'uint8', shape: [2, 1], data: Uint8Array.of(0, 255) },
    { dtype: 'bool', shape: [3], data: Uint8Array.of(1, 0, 1) },
    { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) },
  ];
  for (const a of arrays) assert.deepEqual(decodeNpy(encodeNpy(a), a.dtype), a);
  assert.deepEqual(decodeNpy(Buffer.from(NUMPY_INT64_2x2, 'hex'), 'numpy'), {
    dtype: 'int64',
    shape: [2, 2],
    data: BigInt64Array.of(1n, 2n, 3n, 4n),
  });
});

test('npy: bad input is refused with the reason', () => {
  assert.throws(() => decodeNpy(Uint8Array.of(1, 2, 3), 'x'), NpyError);
  const ok = Buffer.from(NUMPY_FLOAT32_3, 'hex');
  assert.throws(() => decodeNpy(ok.subarray(0, ok.length - 1), 'x'), /needs 12 data bytes/);
  const other = Buffer.from(ok);
  other.write("'<c8'", other.indexOf("'<f4'"), 'latin1');
  assert.throws(() => decodeNpy(other, 'x'), /dtype <c8/);
  assert.throws(() => encodeNpy({ dtype: 'float32', shape: [2], data: new Float32Array(3) }), /needs 2 values/);
});
