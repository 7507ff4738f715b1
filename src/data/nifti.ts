import { readFile } from 'node:fs/promises';
import * as nifti from 'nifti-reader-js';
import { DataError } from './image_codec.js';

/** A 3-D volume in NIfTI memory order: x fastest, then y, then z (axial slices are z). */
export interface Volume {
  data: Float32Array;
  /** [x, y, z] */
  dims: [number, number, number];
}

/** Bytes per voxel and reader of each supported NIfTI datatype code. */
const READERS: Record<number, [number, (v: DataView, o: number, le: boolean) => number]> = {
  2: [1, (v, o) => v.getUint8(o)],
  4: [2, (v, o, le) => v.getInt16(o, le)],
  8: [4, (v, o, le) => v.getInt32(o, le)],
  16: [4, (v, o, le) => v.getFloat32(o, le)],
  64: [8, (v, o, le) => v.getFloat64(o, le)],
  256: [1, (v, o) => v.getInt8(o)],
  512: [2, (v, o, le) => v.getUint16(o, le)],
  768: [4, (v, o, le) => v.getUint32(o, le)],
};

/** Decodes .nii or .nii.gz bytes (nifti-reader-js) into a float volume with the scaling applied; `file` names errors. */
export function decodeNifti(bytes: Uint8Array, file: string): Volume {
  let buffer: ArrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    if (nifti.isCompressed(buffer)) buffer = nifti.decompress(buffer) as ArrayBuffer;
  } catch (e) {
    throw new DataError(file, `corrupt gzip stream (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!nifti.isNIFTI(buffer)) throw new DataError(file, 'not a NIfTI-1/2 file');
  let header: ReturnType<typeof nifti.readHeader>;
  let raw: ArrayBuffer;
  try {
    header = nifti.readHeader(buffer);
    raw = nifti.readImage(header, buffer);
  } catch (e) {
    throw new DataError(file, `unreadable NIfTI (${e instanceof Error ? e.message : String(e)})`);
  }
  const reader = READERS[header.datatypeCode];
  if (reader === undefined) throw new DataError(file, `unsupported NIfTI datatype ${header.datatypeCode}`);
  const [, x = 1, y = 1, z = 1] = header.dims;
  const n = x * y * z;
  const [size, read] = reader;
  if (raw.byteLength < n * size) throw new DataError(file, `truncated: ${raw.byteLength} bytes of voxel data for ${x}x${y}x${z}`);
  const view = new DataView(raw);
  const slope = header.scl_slope === 0 || Number.isNaN(header.scl_slope) ? 1 : header.scl_slope;
  const inter = Number.isNaN(header.scl_inter) ? 0 : header.scl_inter;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = read(view, i * size, header.littleEndian) * slope + inter;
  return { data, dims: [x, y, z] };
}

/** Reads a .nii or .nii.gz file. */
export async function readNifti(file: string): Promise<Volume> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch {
    throw new DataError(file, 'file not found');
  }
  return decodeNifti(bytes, file);
}
