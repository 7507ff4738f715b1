/**
 * NumPy `.npy` (format version 1.0), the bytes of a Flower `Array` whose stype is
 * "numpy.ndarray". Written as `np.save` writes them, so an array that goes round trip through a
 * Python ServerApp comes back byte for byte: magic, version, a little-endian u16 header length,
 * then the header dict with NumPy's spare room for a growing first axis, padded with spaces and a
 * newline to a multiple of 64 bytes.
 */

/** The NumPy dtypes harmofl reads and writes, by NumPy's name (`str(ndarray.dtype)`). */
export type NpyDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

/** The element array of each dtype (bool as one byte per element, 0 or 1). */
export type NpyData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** A decoded array: dtype, C-order shape and its elements. */
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

/** The `descr` of each dtype; multi-byte types little-endian, one-byte types `|`. */
const DESCR: Readonly<Record<NpyDtype, string>> = { float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', uint8: '|u1', bool: '|b1' };
const SIZE: Readonly<Record<NpyDtype, number>> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;
/** NumPy leaves room for the first axis to grow to this many digits without rewriting the file. */
const GROWTH_AXIS_MAX_DIGITS = 21;

/** A `.npy` that harmofl cannot read, or an array that does not fit its declared shape. */
export class NpyError extends Error {
  override readonly name = 'NpyError';
}

/** Python's repr of a shape tuple: `()`, `(3,)`, `(2, 3)`. */
function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** The element count of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Encodes `array` as NumPy's `np.save(..., allow_pickle=False)` does for a C-order array. */
export function encodeNpy(array: NpyArray): Uint8Array {
  const { dtype, shape, data } = array;
  if (data.length !== sizeOf(shape))
    throw new NpyError(`${dtype} array of shape [${shape.join(', ')}] needs ${sizeOf(shape)} values, got ${data.length}`);
  let dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) dict += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  const used = MAGIC.length + 2 + 2 + dict.length + 1;
  // NumPy pads by ALIGN - used % ALIGN, which is a whole ALIGN when already aligned.
  const header = `${dict}${' '.repeat(ALIGN - (used % ALIGN))}\n`;
  const bytes = new Uint8Array(10 + header.length + data.length * SIZE[dtype]);
  bytes.set(MAGIC, 0);
  bytes[6] = 1;
  bytes[7] = 0;
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
  // Typed arrays are in platform order; every platform Node runs on is little-endian, as is the descr.
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return bytes;
}

const DTYPE_OF_DESCR = new Map(Object.entries(DESCR).map(([k, v]) => [v, k as NpyDtype]));

/** Decodes `.npy` bytes (versions 1.0 to 3.0, C order, the dtypes above); `where` names the array in errors. */
export function decodeNpy(bytes: Uint8Array, where: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new NpyError(`${where}: not a .npy (no \\x93NUMPY magic)`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (major < 1 || major > 3) throw new NpyError(`${where}: .npy format version ${major}.${bytes[7]} is not supported`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw new NpyError(`${where}: .npy header is not a NumPy header: ${header.trim()}`);
  const dtype = DTYPE_OF_DESCR.get(descr);
  if (dtype === undefined) throw new NpyError(`${where}: dtype ${descr} is not one harmofl reads (${Object.values(DESCR).join(', ')})`);
  if (fortran === 'True' && shapeText.split(',').filter((s) => s.trim() !== '').length > 1)
    throw new NpyError(`${where}: Fortran-order arrays are not supported`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new NpyError(`${where}: bad shape (${shapeText})`);
  const offset = start + headerLength;
  const byteLength = sizeOf(shape) * SIZE[dtype];
  if (bytes.length - offset !== byteLength)
    throw new NpyError(
      `${where}: ${dtype} shape [${shape.join(', ')}] needs ${byteLength} data bytes, the .npy holds ${bytes.length - offset}`,
    );
  // Copy into a fresh, aligned buffer: the data offset inside a message need not be aligned (and a
  // Buffer's slice would share its pool).
  const raw = new Uint8Array(bytes.subarray(offset, offset + byteLength)).buffer;
  const data: NpyData =
    dtype === 'float32'
      ? new Float32Array(raw)
      : dtype === 'float64'
        ? new Float64Array(raw)
        : dtype === 'int64'
          ? new BigInt64Array(raw)
          : dtype === 'int32'
            ? new Int32Array(raw)
            : new Uint8Array(raw);
  return { dtype, shape, data };
}

/** The values of `array` as float32 (harmofl's model state), whatever its dtype. */
export function toFloat32(array: NpyArray): Float32Array {
  if (array.data instanceof Float32Array) return array.data;
  if (array.data instanceof BigInt64Array) return Float32Array.from(array.data, (v) => Number(v));
  return Float32Array.from(array.data);
}

/** `values` as an array of `dtype` (for replies in the dtype the server sent). */
export function fromFloat32(values: Float32Array, shape: number[], dtype: NpyDtype): NpyArray {
  const data: NpyData =
    dtype === 'float32'
      ? values
      : dtype === 'float64'
        ? Float64Array.from(values)
        : dtype === 'int64'
          ? BigInt64Array.from(values, (v) => BigInt(Math.round(v)))
          : dtype === 'int32'
            ? Int32Array.from(values, Math.round)
            : dtype === 'bool'
              ? Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0))
              : Uint8Array.from(values, (v) => Math.min(255, Math.max(0, Math.round(v))));
  return { dtype, shape, data };
}
