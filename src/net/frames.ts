import { create } from '@bufbuild/protobuf';
import type { NamedArrays } from '../engine/named_arrays.js';
import { MessageError } from '../fl/messages.js';
import { ArrayHeaderSchema, FrameSchema, HeaderSchema, type Frame, type Header } from '../gen/harmofl/v1/federation_pb.js';

/** Bytes of array data per frame: large enough to amortize framing, small enough to bound buffers. */
const CHUNK_BYTES = 1 << 20;

/** Largest frame either side accepts (a full chunk plus a generous header). */
export const MAX_FRAME_BYTES = CHUNK_BYTES + (1 << 20);

/** A header's fields other than its arrays (those come from the arrays themselves). */
export type HeaderFields = Omit<Partial<Header>, 'arrays' | '$typeName' | '$unknown'>;

/** A message as frames: its header, then its arrays' float32 little-endian bytes in chunks (copied lazily, one chunk at a time). */
export function* framesOf(fields: HeaderFields, arrays: NamedArrays = {}): Generator<Frame> {
  const entries = Object.entries(arrays);
  const header = create(HeaderSchema, {
    ...fields,
    arrays: entries.map(([name, a]) => create(ArrayHeaderSchema, { name, shape: a.shape })),
  });
  yield create(FrameSchema, { part: { case: 'header', value: header } });
  let chunk = new Uint8Array(CHUNK_BYTES);
  let used = 0;
  for (const [, a] of entries) {
    const bytes = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
    for (let at = 0; at < bytes.length;) {
      const n = Math.min(CHUNK_BYTES - used, bytes.length - at);
      chunk.set(bytes.subarray(at, at + n), used);
      used += n;
      at += n;
      if (used === CHUNK_BYTES) {
        yield create(FrameSchema, { part: { case: 'data', value: chunk } });
        chunk = new Uint8Array(CHUNK_BYTES);
        used = 0;
      }
    }
  }
  if (used > 0) yield create(FrameSchema, { part: { case: 'data', value: chunk.subarray(0, used) } });
}

/** A heartbeat frame (keeps idle streams alive through proxies; tells the site the coordinator is up). */
export function heartbeatFrame(): Frame {
  return create(FrameSchema, { part: { case: 'heartbeat', value: {} } });
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/**
 * Reassembles one message from its frames with bounded memory: the header's arrays are checked
 * (against `reference` when given, else against `maxBytes`) before any byte is kept, and the data
 * goes into one buffer of exactly the declared size.
 */
export class MessageAssembler {
  private header: Header | undefined;
  private buffer: Uint8Array | undefined;
  private filled = 0;

  constructor(
    private readonly where: string,
    private readonly maxBytes: number,
    private readonly reference?: NamedArrays,
  ) {}

  /** Takes the header frame; throws a MessageError when its arrays cannot be the expected ones. */
  start(header: Header): void {
    if (this.header !== undefined) throw new MessageError(`${this.where}: a second header in one message`);
    let total = 0;
    const seen = new Set<string>();
    for (const a of header.arrays) {
      if (seen.has(a.name)) throw new MessageError(`${this.where}: entry ${a.name} appears twice`);
      seen.add(a.name);
      const ref = this.reference?.[a.name];
      if (this.reference !== undefined && ref === undefined)
        throw new MessageError(`${this.where}: entry ${a.name} is not in the global model`);
      if (ref !== undefined && (ref.shape.length !== a.shape.length || ref.shape.some((d, i) => d !== a.shape[i])))
        throw new MessageError(
          `${this.where}: entry ${a.name} has shape [${a.shape.join(', ')}], the global model [${ref.shape.join(', ')}]`,
        );
      total += sizeOf(a.shape) * 4;
      if (total > this.maxBytes) throw new MessageError(`${this.where}: arrays of more than ${this.maxBytes} bytes`);
    }
    if (this.reference !== undefined && seen.size !== Object.keys(this.reference).length)
      throw new MessageError(`${this.where}: ${seen.size} entries, the global model has ${Object.keys(this.reference).length}`);
    this.header = header;
    this.buffer = new Uint8Array(total);
  }

  /** Takes one data frame. */
  data(bytes: Uint8Array): void {
    if (this.buffer === undefined) throw new MessageError(`${this.where}: data before the header`);
    if (this.filled + bytes.length > this.buffer.length)
      throw new MessageError(`${this.where}: more data than its header declares (${this.buffer.length} bytes)`);
    this.buffer.set(bytes, this.filled);
    this.filled += bytes.length;
  }

  /** Whether the header and all its data arrived. */
  complete(): boolean {
    return this.buffer !== undefined && this.filled === this.buffer.length;
  }

  /** The header and its arrays; throws unless complete. */
  finish(): { header: Header; arrays: NamedArrays } {
    if (this.header === undefined || !this.complete())
      throw new MessageError(`${this.where}: truncated (${this.filled} of ${this.buffer?.length ?? '?'} data bytes)`);
    const arrays: NamedArrays = {};
    let at = 0;
    for (const a of this.header.arrays) {
      const n = sizeOf(a.shape);
      // A copy per entry: aligned, and independent of the receive buffer.
      const data = new Float32Array(n);
      new Uint8Array(data.buffer).set(this.buffer!.subarray(at, at + n * 4));
      at += n * 4;
      arrays[a.name] = { shape: [...a.shape], data };
    }
    return { header: this.header, arrays };
  }
}
