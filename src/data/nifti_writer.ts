import { gzipSync } from 'node:zlib';

/**
 * A minimal NIfTI-1 single-file writer (float32 or uint8 voxels, unit spacing unless an affine is
 * given), gzip-compressed. Written by hand: the well-kept JS NIfTI package (nifti-reader-js) only
 * reads. Used for the synthetic federation and tests. `affine` is the first three rows of the
 * voxel-to-world matrix, stored as the sform (scanner coordinates).
 */
export function encodeNifti(data: Float32Array | Uint8Array, dims: [number, number, number], affine?: number[][]): Uint8Array {
  const HEADER = 348;
  const VOX_OFFSET = 352;
  const isFloat = data instanceof Float32Array;
  const bytes = new Uint8Array(VOX_OFFSET + data.byteLength);
  const v = new DataView(bytes.buffer);
  v.setInt32(0, HEADER, true); // sizeof_hdr
  [3, ...dims, 1, 1, 1, 1].forEach((d, i) => v.setInt16(40 + 2 * i, d, true)); // dim[8]
  v.setInt16(70, isFloat ? 16 : 2, true); // datatype: FLOAT32 or UINT8
  v.setInt16(72, isFloat ? 32 : 8, true); // bitpix
  [1, 1, 1, 1, 1, 1, 1, 1].forEach((p, i) => v.setFloat32(76 + 4 * i, p, true)); // pixdim
  v.setFloat32(108, VOX_OFFSET, true); // vox_offset
  v.setFloat32(112, 1, true); // scl_slope
  v.setUint8(123, 10); // xyzt_units: mm, s
  if (affine !== undefined) {
    v.setInt16(254, 1, true); // sform_code: scanner
    affine.forEach((row, r) => row.forEach((a, c) => v.setFloat32(280 + 16 * r + 4 * c, a, true))); // srow_x, srow_y, srow_z
    // pixdim: the length of each voxel axis in world space.
    for (let c = 0; c < 3; c++) v.setFloat32(80 + 4 * c, Math.hypot(...affine.map((row) => row[c]!)), true);
  }
  bytes.set(new TextEncoder().encode('n+1\0'), 344); // magic
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), VOX_OFFSET);
  return gzipSync(bytes);
}
