import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { MetadataSchema } from '../../src/gen/flwr/proto/message_pb.js';
import { deflateArray, inflateArray, MAX_CHUNK_BYTES, STYPE_NUMPY } from '../../src/flower/array_object.js';
import { makeObject, ObjectFormatError, parseObject } from '../../src/flower/inflatable.js';
import { deflateMessage, inflateMessage, treeIds, type FlowerMessage } from '../../src/flower/message_tree.js';
import { encodeConfigRecord, encodeMetricRecord } from '../../src/flower/record_values.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
/** An object laid out by hand from the spec: `<class> <children> <body length>`, NUL, body. */
const byHand = (cls: string, children: string, body: Uint8Array): Buffer =>
  Buffer.concat([ascii(`${cls} ${children} ${body.length}`), Buffer.of(0), body]);

test('objects: an ArrayChunk and an Array hash to the SHA-256 of head, NUL and body', () => {
  const data = Uint8Array.of(1, 2, 3, 4, 5);
  const chunk = byHand('ArrayChunk', '', data);
  const array = byHand(
    'Array',
    sha256(chunk),
    ascii('{"dtype": "float32", "shape": [5], "stype": "numpy.ndarray", "arraychunk_ids": [0]}'),
  );
  const d = deflateArray({ dtype: 'float32', shape: [5], stype: STYPE_NUMPY, data });
  assert.equal(d.chunks.length, 1);
  assert.equal(d.chunks[0]!.id, sha256(chunk));
  assert.deepEqual(Buffer.from(d.chunks[0]!.bytes), chunk);
  assert.deepEqual(Buffer.from(d.array.bytes), array);
  assert.equal(d.array.id, sha256(array));
});

test('objects: chunking cuts at the chunk size, and identical chunks are stored once', () => {
  const at = (n: number, size: number): number[] =>
    deflateArray(
      { dtype: 'uint8', shape: [n], stype: STYPE_NUMPY, data: Uint8Array.from({ length: n }, (_, i) => i % 251) },
      size,
    ).chunks.map((c) => parseObject(c.bytes, 'c').body.length);
  assert.deepEqual(at(8, 4), [4, 4]);
  assert.deepEqual(at(9, 4), [4, 4, 1]);
  assert.deepEqual(at(3, 4), [3]);
  const zeros = deflateArray({ dtype: 'uint8', shape: [12], stype: STYPE_NUMPY, data: new Uint8Array(12) }, 4);
  assert.equal(zeros.chunks.length, 1);
  assert.match(new TextDecoder().decode(parseObject(zeros.array.bytes, 'a').body), /"arraychunk_ids": \[0, 0, 0\]/);
  // Flower's real boundary: 5 MiB per chunk.
  assert.equal(MAX_CHUNK_BYTES, 5_242_880);
  const big = deflateArray({
    dtype: 'uint8',
    shape: [MAX_CHUNK_BYTES + 1],
    stype: STYPE_NUMPY,
    data: Uint8Array.from({ length: MAX_CHUNK_BYTES + 1 }, (_, i) => i & 0xff),
  });
  assert.deepEqual(
    big.chunks.map((c) => parseObject(c.bytes, 'c').body.length),
    [MAX_CHUNK_BYTES, 1],
  );
  const back = inflateArray(big.array.bytes, (id) => big.chunks.find((c) => c.id === id)!.bytes, 'big');
  assert.equal(back.data.length, MAX_CHUNK_BYTES + 1);
  assert.equal(back.data[MAX_CHUNK_BYTES], MAX_CHUNK_BYTES & 0xff);
});

test('objects: a ConfigRecord body is the protobuf of its items (sint64 zigzag for Python ints)', () => {
  // ConfigRecord{items: [Item{key: "server-round", value: {sint64: 3}}]} laid out by hand.
  const value = [0x10, 0x06];
  const item = [0x0a, 12, ...ascii('server-round'), 0x12, value.length, ...value];
  assert.deepEqual([...encodeConfigRecord(new Map([['server-round', 3n]]))], [0x0a, item.length, ...item]);
  // MetricRecord{num-examples: sint64 16, loss: double 0.5}
  const m = encodeMetricRecord(
    new Map<string, bigint | number>([
      ['num-examples', 16n],
      ['loss', 0.5],
    ]),
  );
  const first = [0x0a, 12, ...ascii('num-examples'), 0x12, 2, 0x10, 32];
  const second = [0x0a, 4, ...ascii('loss'), 0x12, 9, 0x09, ...Buffer.from(Float64Array.of(0.5).buffer)];
  assert.deepEqual([...m], [0x0a, first.length, ...first, 0x0a, second.length, ...second]);
});

const metadata = create(MetadataSchema, {
  runId: 7n,
  messageId: '',
  srcNodeId: 1n,
  dstNodeId: 99n,
  groupId: '2',
  ttl: 3600,
  messageType: 'train',
  createdAt: 1_800_000_000.25,
});

test('objects: a message with nested records deflates into the tree Flower builds', () => {
  const a = { dtype: 'float32', shape: [2], stype: STYPE_NUMPY, data: Uint8Array.of(9, 9, 9, 9) };
  const message: FlowerMessage = {
    metadata,
    content: new Map([
      [
        'arrays',
        {
          kind: 'array',
          arrays: new Map([
            ['w', a],
            ['w_copy', { ...a }],
          ]),
        },
      ],
      [
        'config',
        {
          kind: 'config',
          values: new Map<string, bigint | number>([
            ['server-round', 2n],
            ['lr', 0.01],
          ]),
        },
      ],
      ['metrics', { kind: 'metric', values: new Map([['num-examples', 4n]]) }],
    ]),
  };
  const out = deflateMessage(message);
  const chunk = byHand('ArrayChunk', '', a.data);
  const array = byHand(
    'Array',
    sha256(chunk),
    ascii('{"dtype": "float32", "shape": [2], "stype": "numpy.ndarray", "arraychunk_ids": [0]}'),
  );
  const arrayRecordBody = ascii(`{"w": "${sha256(array)}", "w_copy": "${sha256(array)}"}`);
  const arrayRecord = byHand('ArrayRecord', sha256(array), arrayRecordBody);
  const config = makeObject(
    'ConfigRecord',
    [],
    encodeConfigRecord(
      new Map<string, bigint | number>([
        ['server-round', 2n],
        ['lr', 0.01],
      ]),
    ),
  );
  const metric = makeObject('MetricRecord', [], encodeMetricRecord(new Map([['num-examples', 4n]])));
  const dictBody = ascii(`{"arrays": "${sha256(arrayRecord)}", "config": "${config.id}", "metrics": "${metric.id}"}`);
  const dict = byHand('RecordDict', `${sha256(arrayRecord)},${config.id},${metric.id}`, dictBody);
  const root = parseObject(out.objects.get(out.id)!.bytes, 'root');
  assert.equal(root.cls, 'Message');
  assert.deepEqual(root.children, [sha256(dict)]);
  assert.deepEqual(Buffer.from(out.objects.get(sha256(dict))!.bytes), dict);
  assert.equal(out.id, sha256(out.objects.get(out.id)!.bytes));
  // Tree: Message > RecordDict > (ArrayRecord > Array > ArrayChunk, ConfigRecord, MetricRecord); the duplicate array once.
  assert.equal(out.tree.children.length, 1);
  const [ar, cr, mr] = out.tree.children[0]!.children;
  assert.deepEqual([ar!.objectId, cr!.objectId, mr!.objectId], [sha256(arrayRecord), config.id, metric.id]);
  assert.deepEqual(
    ar!.children.map((c) => c.objectId),
    [sha256(array)],
  );
  assert.deepEqual(
    ar!.children[0]!.children.map((c) => c.objectId),
    [sha256(chunk)],
  );
  assert.deepEqual(treeIds(out.tree), [sha256(chunk), sha256(array), sha256(arrayRecord), config.id, metric.id, sha256(dict), out.id]);
  for (const [id, o] of out.objects) assert.equal(sha256(o.bytes), id);

  const back = inflateMessage(out.id, new Map([...out.objects].map(([id, o]) => [id, o.bytes])));
  assert.equal(back.metadata.messageId, out.id);
  assert.equal(back.metadata.createdAt, metadata.createdAt);
  assert.deepEqual(back.content, message.content);
});

test('objects: the message id ignores metadata.message_id, and tampered or missing objects are refused', () => {
  const m: FlowerMessage = { metadata, content: new Map([['metrics', { kind: 'metric', values: new Map([['x', 1.5]]) }]]) };
  const out = deflateMessage(m);
  assert.equal(deflateMessage({ ...m, metadata: { ...metadata, messageId: out.id } }).id, out.id);
  const contents = new Map([...out.objects].map(([id, o]) => [id, o.bytes]));
  const leaf = out.tree.children[0]!.children[0]!.objectId;
  const tampered = new Map(contents);
  tampered.set(leaf, Uint8Array.from(contents.get(leaf)!).fill(0x41, -1));
  assert.throws(() => inflateMessage(out.id, tampered), /does not hash to its id/);
  const missing = new Map(contents);
  missing.delete(leaf);
  assert.throws(() => inflateMessage(out.id, missing), ObjectFormatError);
  assert.throws(() => parseObject(ascii('ArrayChunk  9\0abc'), 'x'), /head says 9 body bytes/);
  assert.throws(() => parseObject(ascii('Widget  0\0'), 'x'), /unknown object class/);
});

test('objects: an error reply is a Message object without children', () => {
  const out = deflateMessage({ metadata, error: { code: 2n, reason: 'nope' } });
  assert.equal(out.objects.size, 1);
  assert.match(Buffer.from(out.objects.get(out.id)!.bytes).toString('latin1'), /^Message {2}\d+\0/);
  assert.deepEqual(inflateMessage(out.id, new Map([[out.id, out.objects.get(out.id)!.bytes]])).error, { code: 2n, reason: 'nope' });
});

test("objects: ids equal those Flower 1.23's Python computes for the same records (recorded once)", async () => {
  const { encodeNpy } = await import('../../src/flower/npy.js');
  const w = {
    dtype: 'float32',
    shape: [3],
    stype: STYPE_NUMPY,
    data: encodeNpy({ dtype: 'float32', shape: [3], data: Float32Array.of(1.5, -2, 3.25) }),
  };
  const b = {
    dtype: 'int64',
    shape: [2, 2],
    stype: STYPE_NUMPY,
    data: encodeNpy({ dtype: 'int64', shape: [2, 2], data: new BigInt64Array(4) }),
  };
  // Array(np.array([1.5, -2, 3.25], dtype=np.float32)).object_id, and the ArrayRecord / RecordDict ids of
  // RecordDict({'arrays': ArrayRecord(OrderedDict(w=..., b=np.zeros((2, 2), np.int64))),
  //             'config': ConfigRecord({'server-round': 2, 'lr': 0.01}), 'metrics': MetricRecord({'num-examples': 4, 'loss': 0.5})})
  assert.equal(deflateArray(w).array.id, '58d486c50fb367a5b48199f8d1a4fd97ba594dedd12b36cdd25cfe72474ab238');
  const out = deflateMessage({
    metadata,
    content: new Map([
      [
        'arrays',
        {
          kind: 'array',
          arrays: new Map([
            ['w', w],
            ['b', b],
          ]),
        },
      ],
      [
        'config',
        {
          kind: 'config',
          values: new Map<string, bigint | number>([
            ['server-round', 2n],
            ['lr', 0.01],
          ]),
        },
      ],
      [
        'metrics',
        {
          kind: 'metric',
          values: new Map<string, bigint | number>([
            ['num-examples', 4n],
            ['loss', 0.5],
          ]),
        },
      ],
    ]),
  });
  const dict = out.tree.children[0]!;
  assert.equal(dict.children[0]!.objectId, '38d4e6634c8ab88aa327274c3390aa17526809cdd14a2b076091ebe09bd52ff8');
  assert.equal(dict.objectId, '097b1db3f6ddb88756d38eda8e4f47d50a025ba8593e5bfcb2dc21bce73fb163');
});

test('objects: record values keep their Python types through a round trip (lists, bytes, bool before int, empty lists)', async () => {
  const { decodeConfigRecord, decodeMetricRecord } = await import('../../src/flower/record_values.js');
  const config = new Map<string, import('../../src/flower/record_values.js').ConfigValue>([
    ['flag', true],
    ['n', -5n],
    ['big', 2n ** 64n - 1n],
    ['x', 0.25],
    ['s', 'densenet'],
    ['raw', Uint8Array.of(1, 2)],
    ['ints', [1n, 2n]],
    ['names', ['a', 'b']],
    ['empty', []],
  ]);
  assert.deepEqual(decodeConfigRecord(encodeConfigRecord(config)), new Map([...config, ['empty', []]]));
  // An empty list is a BoolList (field 24) in a ConfigRecord, as Python's serde picks bool first.
  // Item{key: "e", value: {bool_list (24): empty}}; field 24 LEN is the varint tag 0xc2 0x01.
  const item = [0x0a, 1, 0x65, 0x12, 3, 0xc2, 0x01, 0x00];
  assert.deepEqual([...encodeConfigRecord(new Map([['e', []]]))], [0x0a, item.length, ...item]);
  const metrics = new Map<string, bigint | number | number[]>([
    ['acc', [0.5, 0.75]],
    ['num-examples', 3n],
  ]);
  assert.deepEqual(decodeMetricRecord(encodeMetricRecord(metrics)), metrics);
});
