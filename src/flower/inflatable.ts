import { createHash } from 'node:crypto';

/**
 * Flower's content addressing of message parts (its "inflatable objects", since 1.19): an
 * object's bytes are a UTF-8 head `<class> <child ids, comma-separated> <body length>`, a NUL
 * byte, then the body; its id is the SHA-256 hex of those bytes. A message travels as the tree
 * of these objects (Message > RecordDict > records > Arrays > ArrayChunks).
 */

/** The object classes Flower 1.23 accepts (its inflatable class registry). */
export type ObjectClass = 'Message' | 'RecordDict' | 'ArrayRecord' | 'ConfigRecord' | 'MetricRecord' | 'Array' | 'ArrayChunk';

const CLASSES: readonly string[] = ['Message', 'RecordDict', 'ArrayRecord', 'ConfigRecord', 'MetricRecord', 'Array', 'ArrayChunk'];

/** An object as it travels: its id, its bytes, and its children's ids (unique, in head order). */
export interface StoredObject {
  id: string;
  bytes: Uint8Array;
  children: string[];
}

/** An object's parsed bytes. */
export interface ParsedObject {
  cls: ObjectClass;
  children: string[];
  body: Uint8Array;
}

/** Object bytes that break Flower's layout, or an object of another class than expected. */
export class ObjectFormatError extends Error {
  override readonly name = 'ObjectFormatError';
}

/** The SHA-256 hex of `bytes`: an object's id. */
export function objectId(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Lays out an object's bytes (head, NUL, body) and computes its id. */
export function makeObject(cls: ObjectClass, children: readonly string[], body: Uint8Array): StoredObject {
  const head = new TextEncoder().encode(`${cls} ${children.join(',')} ${body.length}`);
  const bytes = new Uint8Array(head.length + 1 + body.length);
  bytes.set(head, 0);
  bytes.set(body, head.length + 1);
  return { id: objectId(bytes), bytes, children: [...children] };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Whether `id` has the form of an object id (64 lowercase hex digits). */
function isObjectId(id: string): boolean {
  return SHA256_HEX.test(id);
}

/** Splits object bytes into class, child ids and body, checking the layout as Flower's SuperLink does. */
export function parseObject(bytes: Uint8Array, where: string): ParsedObject {
  const nul = bytes.indexOf(0);
  if (nul < 0) throw new ObjectFormatError(`${where}: object has no head/body divider`);
  const parts = new TextDecoder().decode(bytes.subarray(0, nul)).split(' ');
  if (parts.length !== 3) throw new ObjectFormatError(`${where}: object head has ${parts.length} fields, not 3`);
  const [cls, childText, lengthText] = parts as [string, string, string];
  if (!CLASSES.includes(cls)) throw new ObjectFormatError(`${where}: unknown object class ${JSON.stringify(cls)}`);
  const children = childText === '' ? [] : childText.split(',');
  const bad = children.find((c) => !isObjectId(c));
  if (bad !== undefined) throw new ObjectFormatError(`${where}: child id ${JSON.stringify(bad)} is not a SHA-256 hex`);
  const body = bytes.subarray(nul + 1);
  if (String(body.length) !== lengthText)
    throw new ObjectFormatError(`${where}: head says ${lengthText} body bytes, the object has ${body.length}`);
  return { cls: cls as ObjectClass, children, body };
}

/** Parses `bytes` and checks it is of class `cls`. */
export function parseObjectOf(cls: ObjectClass, bytes: Uint8Array, where: string): ParsedObject {
  const parsed = parseObject(bytes, where);
  if (parsed.cls !== cls) throw new ObjectFormatError(`${where}: expected a ${cls} object, got a ${parsed.cls}`);
  return parsed;
}

/** Ids in first-seen order without repeats (a head lists each child once, as Python's dict keys). */
export function uniqueIds(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}
