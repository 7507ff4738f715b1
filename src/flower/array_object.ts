import { makeObject, parseObjectOf, uniqueIds, ObjectFormatError, type StoredObject } from './inflatable.js';
import { pyJson } from './py_json.js';

/** A Flower `Array`: NumPy dtype name, shape, serialization type and the serialized bytes. */
export interface FlowerArray {
  dtype: string;
  shape: number[];
  stype: string;
  data: Uint8Array;
}

/** The stype of arrays whose data is `.npy` bytes (Flower's `SType.NUMPY`). */
export const STYPE_NUMPY = 'numpy.ndarray';

/** Flower's largest ArrayChunk body (FLWR_PRIVATE_MAX_ARRAY_CHUNK_SIZE, 5 MiB). */
export const MAX_CHUNK_BYTES = 5 * 1024 * 1024;

/** An Array's object and its chunk objects (one per distinct chunk, first-seen order). */
export interface DeflatedArray {
  array: StoredObject;
  chunks: StoredObject[];
}

/**
 * Deflates an Array as Flower does: its data is cut into chunks of `chunkBytes`, each an
 * ArrayChunk object; the Array's body is JSON metadata whose `arraychunk_ids` index the head's
 * list of distinct chunk ids (identical chunks, say of zeros, are stored once).
 */
export function deflateArray(a: FlowerArray, chunkBytes = MAX_CHUNK_BYTES): DeflatedArray {
  const pieces: StoredObject[] = [];
  for (let start = 0; start < a.data.length; start += chunkBytes)
    pieces.push(makeObject('ArrayChunk', [], a.data.subarray(start, Math.min(start + chunkBytes, a.data.length))));
  const children = uniqueIds(pieces.map((c) => c.id));
  const body = pyJson({ dtype: a.dtype, shape: a.shape, stype: a.stype, arraychunk_ids: pieces.map((c) => children.indexOf(c.id)) });
  const chunks = children.map((id) => pieces.find((c) => c.id === id)!);
  return { array: makeObject('Array', children, new TextEncoder().encode(body)), chunks };
}

interface ArrayBody {
  dtype: string;
  shape: number[];
  stype: string;
  arraychunk_ids: number[];
}

/** Rebuilds an Array from its object bytes and its chunks' bytes (`chunk(id)`). */
export function inflateArray(bytes: Uint8Array, chunk: (id: string) => Uint8Array, where: string): FlowerArray {
  const { children, body } = parseObjectOf('Array', bytes, where);
  let meta: ArrayBody;
  try {
    meta = JSON.parse(new TextDecoder().decode(body)) as ArrayBody;
  } catch {
    throw new ObjectFormatError(`${where}: Array body is not JSON`);
  }
  if (typeof meta.dtype !== 'string' || typeof meta.stype !== 'string' || !Array.isArray(meta.shape) || !Array.isArray(meta.arraychunk_ids))
    throw new ObjectFormatError(`${where}: Array body lacks dtype, shape, stype or arraychunk_ids`);
  const parts = meta.arraychunk_ids.map((i) => {
    const id = children[i];
    if (id === undefined) throw new ObjectFormatError(`${where}: arraychunk index ${i} is outside the head's ${children.length} children`);
    return parseObjectOf('ArrayChunk', chunk(id), `${where} chunk ${i}`).body;
  });
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { dtype: meta.dtype, shape: meta.shape, stype: meta.stype, data };
}
