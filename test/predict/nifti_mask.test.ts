import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { decodeNifti } from '../../src/data/nifti.js';
import { encodeNifti } from '../../src/data/nifti_writer.js';
import { encodeNiftiMask } from '../../src/predict/nifti_mask.js';

const DIMS: [number, number, number] = [4, 3, 2];
const MASK = Uint8Array.from({ length: 24 }, (_, i) => (i % 5 === 0 ? 1 : 0));
const AFFINE = [
  [0, 0, -2, 10],
  [1.5, 0, 0, -4],
  [0, 0.5, 0, 3],
];

const asBuffer = (b: Uint8Array): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/** A NIfTI-2 float32 volume with an sform, laid out by hand from the NIfTI-2 header definition. */
function nifti2(): Uint8Array {
  const bytes = new Uint8Array(544 + 24 * 4);
  const v = new DataView(bytes.buffer);
  v.setInt32(0, 540, true);
  bytes.set([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a], 4); // "n+2\0\r\n\032\n"
  v.setInt16(12, 16, true); // float32
  v.setInt16(14, 32, true);
  [3, ...DIMS, 1, 1, 1, 1].forEach((d, i) => v.setBigInt64(16 + 8 * i, BigInt(d), true));
  [1, 1.5, 0.5, 2, 1, 1, 1, 1].forEach((p, i) => v.setFloat64(104 + 8 * i, p, true));
  v.setBigInt64(168, 544n, true); // vox_offset
  v.setFloat64(176, 2, true); // scl_slope
  v.setFloat64(184, 5, true); // scl_inter
  v.setInt32(348, 2, true); // sform_code: aligned
  AFFINE.forEach((row, r) => row.forEach((a, c) => v.setFloat64(400 + 32 * r + 8 * c, a, true)));
  for (let i = 0; i < 24; i++) v.setFloat32(544 + 4 * i, i, true);
  return bytes;
}

test('a NIfTI-1 mask keeps the gzipped source header, becomes uint8 with identity scaling', () => {
  const source = encodeNifti(
    Float32Array.from({ length: 24 }, (_, i) => i),
    DIMS,
    AFFINE,
  );
  const out = encodeNiftiMask(source, MASK, 2, 'v.nii.gz');
  const raw = gunzipSync(out);
  const header = nifti.readHeader(asBuffer(raw));
  assert.equal(header.datatypeCode, 2);
  assert.equal(header.numBitsPerVoxel, 8);
  assert.equal(header.cal_max, 1);
  assert.deepEqual(header.affine.slice(0, 3), AFFINE);
  assert.deepEqual(decodeNifti(out, 'mask').data, Float32Array.from(MASK));
  assert.throws(() => encodeNiftiMask(source, MASK.subarray(1), 2, 'v.nii.gz'), /v\.nii\.gz: mask has 23 voxels, the volume 4x3x2/);
  assert.throws(() => encodeNiftiMask(new Uint8Array(400), MASK, 2, 'x.nii'), /x\.nii: not a NIfTI-1 or NIfTI-2 header/);
});

test('a NIfTI-2 source keeps its header too, uncompressed in, uncompressed out', () => {
  const source = nifti2();
  assert.deepEqual(decodeNifti(source, 'v2').data[3], 3 * 2 + 5, 'the hand-made NIfTI-2 file reads');
  const out = encodeNiftiMask(source, MASK, 3, 'v2.nii');
  assert.equal(out[0], 540 % 256);
  const header = nifti.readHeader(asBuffer(out));
  assert.equal(header.datatypeCode, 2);
  assert.equal(header.scl_slope, 1);
  assert.equal(header.scl_inter, 0);
  assert.equal(header.cal_max, 2);
  assert.deepEqual(header.affine.slice(0, 3), AFFINE);
  assert.deepEqual([...header.pixDims.slice(1, 4)], [1.5, 0.5, 2]);
  assert.deepEqual(decodeNifti(out, 'mask2').data, Float32Array.from(MASK));
});
