import { create, toBinary, fromBinary } from '@bufbuild/protobuf';
import { MessageSchema, ObjectTreeSchema, type Metadata, type ObjectTree } from '../gen/flwr/proto/message_pb.js';
import { deflateArray, inflateArray, MAX_CHUNK_BYTES, type FlowerArray } from './array_object.js';
import { makeObject, objectId, ObjectFormatError, parseObject, parseObjectOf, uniqueIds, type StoredObject } from './inflatable.js';
import { pyJson } from './py_json.js';
import {
  decodeConfigRecord,
  decodeMetricRecord,
  encodeConfigRecord,
  encodeMetricRecord,
  type ConfigValue,
  type MetricValue,
} from './record_values.js';

/** One record of a Flower RecordDict. */
export type FlowerRecord =
  | { kind: 'array'; arrays: Map<string, FlowerArray> }
  | { kind: 'config'; values: Map<string, ConfigValue> }
  | { kind: 'metric'; values: Map<string, MetricValue> };

/** A Flower message: its metadata, and either content (named records, in order) or an error. */
export interface FlowerMessage {
  metadata: Metadata;
  content?: Map<string, FlowerRecord>;
  error?: { code: bigint; reason: string };
}

/** A message deflated into its objects: the root id (the message id), every object by id, and the id tree. */
export interface DeflatedMessage {
  id: string;
  objects: Map<string, StoredObject>;
  tree: ObjectTree;
}

/** The tree of ids below (and including) `id`, children in head order, as Flower's get_object_tree. */
function treeOf(id: string, objects: ReadonlyMap<string, StoredObject>): ObjectTree {
  return create(ObjectTreeSchema, { objectId: id, children: objects.get(id)!.children.map((c) => treeOf(c, objects)) });
}

/** Deflates one record into `objects`; returns its object. */
function deflateRecord(record: FlowerRecord, objects: Map<string, StoredObject>, chunkBytes: number): StoredObject {
  if (record.kind === 'config') return makeObject('ConfigRecord', [], encodeConfigRecord(record.values));
  if (record.kind === 'metric') return makeObject('MetricRecord', [], encodeMetricRecord(record.values));
  const refs: Record<string, string> = {};
  for (const [name, a] of record.arrays) {
    const { array, chunks } = deflateArray(a, chunkBytes);
    for (const c of chunks) objects.set(c.id, c);
    objects.set(array.id, array);
    refs[name] = array.id;
  }
  return makeObject('ArrayRecord', uniqueIds(Object.values(refs)), new TextEncoder().encode(pyJson(refs)));
}

/**
 * Deflates a message as Flower does: the Message object holds the metadata (message id blanked,
 * since the id is the hash) and the error, its one child is the RecordDict, whose body maps record
 * names to record ids; an ArrayRecord's body maps array names to Array ids.
 */
export function deflateMessage(message: FlowerMessage, chunkBytes = MAX_CHUNK_BYTES): DeflatedMessage {
  const objects = new Map<string, StoredObject>();
  const children: string[] = [];
  if (message.content !== undefined) {
    const refs: Record<string, string> = {};
    for (const [name, record] of message.content) {
      const r = deflateRecord(record, objects, chunkBytes);
      objects.set(r.id, r);
      refs[name] = r.id;
    }
    const dict = makeObject('RecordDict', uniqueIds(Object.values(refs)), new TextEncoder().encode(pyJson(refs)));
    objects.set(dict.id, dict);
    children.push(dict.id);
  }
  const body = toBinary(
    MessageSchema,
    create(MessageSchema, { metadata: { ...message.metadata, messageId: '' }, ...(message.error ? { error: message.error } : {}) }),
  );
  const root = makeObject('Message', children, body);
  objects.set(root.id, root);
  return { id: root.id, objects, tree: treeOf(root.id, objects) };
}

/** Every id of a tree, children before parents (Flower's post-order iterate_object_tree). */
export function treeIds(tree: ObjectTree): string[] {
  return [...tree.children.flatMap(treeIds), tree.objectId];
}

/** JSON name-to-id map of a RecordDict or ArrayRecord body, checked against the head's children. */
function refsOf(body: Uint8Array, children: readonly string[], where: string): Array<[string, string]> {
  let refs: Record<string, unknown>;
  try {
    refs = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;
  } catch {
    throw new ObjectFormatError(`${where}: body is not JSON`);
  }
  const entries = Object.entries(refs);
  for (const [name, id] of entries)
    if (typeof id !== 'string' || !children.includes(id))
      throw new ObjectFormatError(`${where}: entry ${name} points at ${JSON.stringify(id)}, which is not one of its children`);
  return entries as Array<[string, string]>;
}

/**
 * Rebuilds a message from the bytes of its objects (`contents`, by id). Each object's bytes must
 * hash to its id: the content is what the sender addressed, whatever path it took.
 */
export function inflateMessage(rootId: string, contents: ReadonlyMap<string, Uint8Array>): FlowerMessage {
  const get = (id: string, where: string): Uint8Array => {
    const bytes = contents.get(id);
    if (bytes === undefined) throw new ObjectFormatError(`${where}: object ${id} was not received`);
    if (objectId(bytes) !== id) throw new ObjectFormatError(`${where}: object ${id} does not hash to its id`);
    return bytes;
  };
  const root = parseObjectOf('Message', get(rootId, 'message'), 'message');
  const proto = fromBinary(MessageSchema, root.body);
  const metadata = { ...proto.metadata!, messageId: rootId };
  if (proto.error !== undefined) return { metadata, error: { code: proto.error.code, reason: proto.error.reason } };
  const dictId = root.children[0];
  if (dictId === undefined) throw new ObjectFormatError('message: it has neither content nor an error');
  const dict = parseObjectOf('RecordDict', get(dictId, 'content'), 'content');
  const content = new Map<string, FlowerRecord>();
  for (const [name, id] of refsOf(dict.body, dict.children, 'content')) {
    const where = `record ${name}`;
    const record = parseObject(get(id, where), where);
    if (record.cls === 'ConfigRecord') content.set(name, { kind: 'config', values: decodeConfigRecord(record.body) });
    else if (record.cls === 'MetricRecord') content.set(name, { kind: 'metric', values: decodeMetricRecord(record.body) });
    else if (record.cls === 'ArrayRecord') {
      const arrays = new Map<string, FlowerArray>();
      for (const [arrayName, arrayId] of refsOf(record.body, record.children, where))
        arrays.set(
          arrayName,
          inflateArray(get(arrayId, `${where}.${arrayName}`), (c) => get(c, `${where}.${arrayName}`), `${where}.${arrayName}`),
        );
      content.set(name, { kind: 'array', arrays });
    } else throw new ObjectFormatError(`${where}: a RecordDict cannot hold a ${record.cls}`);
  }
  return { metadata, content };
}
