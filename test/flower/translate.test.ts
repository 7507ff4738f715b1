import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { MetadataSchema } from '../../src/gen/flwr/proto/message_pb.js';
import { initBackend } from '../../src/engine/node_backend.js';
import { Rng } from '../../src/engine/rng.js';
import { runSpecOf, type RunSpec } from '../../src/fl/run_spec.js';
import { STYPE_NUMPY, type FlowerArray } from '../../src/flower/array_object.js';
import type { FlowerMessage } from '../../src/flower/message_tree.js';
import { decodeNpy, encodeNpy } from '../../src/flower/npy.js';
import { instructionOf, NUM_EXAMPLES, replyOf, TorchStateCodec } from '../../src/flower/translate.js';
import { createModel } from '../../src/harmofl/create_model.js';
import type { TrainReply } from '../../src/fl/messages.js';

const spec: RunSpec = {
  strategy: 'harmofl',
  options: { alpha: 0.05 },
  model: {
    config: { kind: 'densenet', inputShape: [3, 16, 16], growthRate: 4, blockConfig: [2, 2], numInitFeatures: 8, bnSize: 4, numClasses: 2 },
    amp: { L: 0, momentum: 0, enabled: true },
  },
  optimizer: { kind: 'sgd', lr: 0.001, momentum: 0.9, weightDecay: 1e-4 },
  epochs: 1,
  batch: 8,
  augment: false,
};

/** A FedAvg-style message: the model's state_dict in PyTorch layouts, float32, plus FedAvg's config. */
async function fedAvgMessage(
  type: string,
  codec: TorchStateCodec,
  tweak?: (arrays: Map<string, FlowerArray>) => void,
): Promise<FlowerMessage> {
  const arrays = new Map<string, FlowerArray>();
  for (const [name, shape] of codec.torchShapes()) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => (i % 7) / 10);
    arrays.set(name, { dtype: 'float32', shape, stype: STYPE_NUMPY, data: encodeNpy({ dtype: 'float32', shape, data }) });
  }
  tweak?.(arrays);
  return {
    metadata: create(MetadataSchema, {
      runId: 5n,
      messageId: 'f'.repeat(64),
      srcNodeId: 1n,
      dstNodeId: 77n,
      ttl: 3600,
      messageType: type,
      createdAt: Date.now() / 1000,
    }),
    content: new Map([
      ['arrays', { kind: 'array', arrays }],
      [
        'config',
        {
          kind: 'config',
          values: new Map<string, bigint | number>([
            ['server-round', 3n],
            ['lr', 0.05],
          ]),
        },
      ],
    ]),
  };
}

test('translate: a FedAvg train message becomes a harmofl instruction (0-based round, run spec, seed, lr) and the reply goes back in PyTorch layouts', async () => {
  await initBackend('cpu');
  const model = createModel(spec.model.config, new Rng(0), spec.model.amp);
  const codec = new TorchStateCodec(model);
  try {
    const shapes = codec.torchShapes();
    assert.deepEqual(shapes.get('features.conv0.weight'), [8, 3, 7, 7], 'conv weights are OIHW on the wire');
    assert.equal([...shapes.keys()][0], 'amp_norm.running_amp');
    const message = await fedAvgMessage('train', codec);
    const { instruction, dtypes } = instructionOf(message, codec, { spec, seedFor: (round) => 1000 + round });
    assert.equal(instruction.kind, 'train');
    assert.equal(instruction.round, 2);
    assert.equal(instruction.config['seed'], 1002);
    assert.equal(instruction.config['server-round'], 3);
    const sent = runSpecOf(instruction.config, 'test');
    assert.equal(sent.optimizer.lr, 0.05, 'the ServerApp lr overrides --lr');
    assert.deepEqual(instruction.arrays['features.conv0.weight']!.shape, [7, 7, 3, 8], 'engine layout is HWIO');
    const reply: TrainReply = {
      kind: 'train-reply',
      version: 1,
      round: 2,
      site: 's',
      arrays: instruction.arrays,
      samples: 16,
      metrics: { trainLoss: 0.5, steps: 2 },
    };
    const out = replyOf(message, reply, codec, dtypes, message.metadata.createdAt + 10);
    assert.equal(out.metadata.replyToMessageId, message.metadata.messageId);
    assert.equal(out.metadata.dstNodeId, 1n);
    assert.equal(out.metadata.srcNodeId, 77n);
    assert.ok(Math.abs(out.metadata.ttl - 3590) < 1e-6, 'the reply does not outlive its instruction');
    const back = out.content!.get('arrays');
    const metrics = out.content!.get('metrics');
    assert.ok(back?.kind === 'array' && metrics?.kind === 'metric');
    assert.deepEqual([...back.arrays.keys()], [...shapes.keys()], 'arrays in the model state order');
    const original = (message.content!.get('arrays') as { arrays: Map<string, FlowerArray> }).arrays;
    for (const [name, a] of back.arrays)
      assert.deepEqual(decodeNpy(a.data, name), decodeNpy(original.get(name)!.data, name), `${name} round trips`);
    assert.equal(metrics.values.get(NUM_EXAMPLES), 16n, 'num-examples is an int (sint64), the FedAvg weight');
    assert.equal(metrics.values.get('steps'), 2n);
    assert.equal(metrics.values.get('trainLoss'), 0.5);
  } finally {
    model.dispose();
  }
});

test('translate: unexpected message types and array shapes are named', async () => {
  await initBackend('cpu');
  const model = createModel(spec.model.config, new Rng(0), spec.model.amp);
  const codec = new TorchStateCodec(model);
  const run = { spec, seedFor: () => 0 };
  try {
    assert.throws(
      () =>
        instructionOf(
          { metadata: create(MetadataSchema, { messageType: 'query', messageId: 'a'.repeat(64) }), content: new Map() },
          codec,
          run,
        ),
      /not "query"/,
    );
    const bad = await fedAvgMessage('evaluate', codec, (arrays) => {
      const shape = [8, 3, 3, 3];
      arrays.set('features.conv0.weight', {
        dtype: 'float32',
        shape,
        stype: STYPE_NUMPY,
        data: encodeNpy({ dtype: 'float32', shape, data: new Float32Array(216) }),
      });
    });
    assert.throws(
      () => instructionOf(bad, codec, run),
      /features\.conv0\.weight has shape \[8, 3, 3, 3\], this model's state_dict has \[8, 3, 7, 7\]/,
    );
    const missing = await fedAvgMessage('train', codec, (arrays) => arrays.delete('classifier.weight'));
    assert.throws(() => instructionOf(missing, codec, run), /missing classifier\.weight/);
  } finally {
    model.dispose();
  }
});
