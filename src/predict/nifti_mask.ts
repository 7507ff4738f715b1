import { gunzipSync, gzipSync } from 'node:zlib';
import { DataError } from '../data/image_codec.js';

/** Byte offsets of the header fields a mask rewrites, per NIfTI version (NIfTI-1: 348-byte header, NIfTI-2: 540). */
const LAYOUT = {
  348: { datatype: 70, bitpix: 72, dim: 40, dimSize: 2, voxOffset: 108, float: 4, sclSlope: 112, sclInter: 116, calMax: 124, calMin: 128 },
  540: { datatype: 12, bitpix: 14, dim: 16, dimSize: 8, voxOffset: 168, float: 8, sclSlope: 176, sclInter: 184, calMax: 192, calMin: 200 },
} as const;

/** Whether bytes start a gzip stream. */
export const isGzip = (b: Uint8Array): boolean => b[0] === 0x1f && b[1] === 0x8b;

/**
 * A label mask (uint8 class indices, NIfTI voxel order) as a NIfTI file that keeps the source
 * volume's header whole: dimensions, voxel sizes, qform and sform (affine and orientation), units,
 * description and header extensions. Only what a uint8 mask changes is rewritten: datatype, bitpix,
 * intensity scaling (identity), display range (0..classes-1) and a fourth dimension (dropped).
 * Gzip-compressed when the source was. `file` names the source in errors.
 */
export function encodeNiftiMask(source: Uint8Array, mask: Uint8Array, classes: number, file: string): Uint8Array {
  const raw = isGzip(source) ? gunzipSync(source) : source;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const size = view.getInt32(0, true);
  const le = size === 348 || size === 540;
  const layout = LAYOUT[(le ? size : view.getInt32(0, false)) as keyof typeof LAYOUT];
  if (layout === undefined) throw new DataError(file, 'not a NIfTI-1 or NIfTI-2 header');
  const readInt = (o: number): number => (layout.dimSize === 2 ? view.getInt16(o, le) : Number(view.getBigInt64(o, le)));
  const voxOffset = layout.float === 4 ? view.getFloat32(layout.voxOffset, le) : Number(view.getBigInt64(layout.voxOffset, le));
  const dims = [1, 2, 3].map((i) => readInt(layout.dim + layout.dimSize * i));
  if (dims.reduce((a, d) => a * d, 1) !== mask.length)
    throw new Error(`${file}: mask has ${mask.length} voxels, the volume ${dims.join('x')}`);
  const out = new Uint8Array(voxOffset + mask.length);
  out.set(raw.subarray(0, voxOffset));
  out.set(mask, voxOffset);
  const w = new DataView(out.buffer);
  const writeInt = (o: number, v: number): void => (layout.dimSize === 2 ? w.setInt16(o, v, le) : w.setBigInt64(o, BigInt(v), le));
  const writeFloat = (o: number, v: number): void => (layout.float === 4 ? w.setFloat32(o, v, le) : w.setFloat64(o, v, le));
  w.setInt16(layout.datatype, 2, le); // DT_UINT8
  w.setInt16(layout.bitpix, 8, le);
  writeInt(layout.dim, 3);
  for (let i = 4; i <= 7; i++) writeInt(layout.dim + layout.dimSize * i, 1);
  writeFloat(layout.sclSlope, 1);
  writeFloat(layout.sclInter, 0);
  writeFloat(layout.calMax, classes - 1);
  writeFloat(layout.calMin, 0);
  return isGzip(source) ? gzipSync(out) : out;
}
