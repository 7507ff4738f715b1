import * as tf from '@tensorflow/tfjs-core';
import { fromNamedArrays, toNamedArrays, type NamedArrays } from '../engine/named_arrays.js';
import type { ConfigRecord, EvaluateInstruction, EvaluateReply, Instruction, TrainInstruction, TrainReply } from '../fl/messages.js';
import { PROTOCOL_VERSION } from '../fl/messages.js';
import { CONFIG_KEYS, encodeRunSpec, type RunSpec } from '../fl/run_spec.js';
import type { Model } from '../nn/model.js';
import { STYPE_NUMPY, type FlowerArray } from './array_object.js';
import type { FlowerMessage, FlowerRecord } from './message_tree.js';
import { replyMetadata } from './replies.js';
import { decodeNpy, encodeNpy, fromFloat32, toFloat32, type NpyDtype } from './npy.js';
import type { ConfigValue, MetricValue } from './record_values.js';

/**
 * Flower messages to harmofl instructions and harmofl replies back, in the record layout of
 * Flower 1.23's message API strategies (FedAvg and its kin): a train or evaluate message holds
 * one ArrayRecord (`arrays`) and a ConfigRecord (`config`, with `server-round`, 1-based); a reply
 * holds an ArrayRecord (train only) and a MetricRecord whose `num-examples` weights the average.
 * Arrays travel with PyTorch state_dict names and layouts, in the model's state order.
 */

/** Flower's weighting key (`weighted_by_key` of FedAvg and the other averaging strategies). */
export const NUM_EXAMPLES = 'num-examples';
/** The round key Flower's strategies put in every ConfigRecord they send. */
const SERVER_ROUND = 'server-round';
/** The learning rate a ServerApp may send (our Python example does); it overrides `--lr`. */
const LR = 'lr';
/** Record names of replies (those of Flower's examples). */
const REPLY_RECORDS = { arrays: 'arrays', metrics: 'metrics' } as const;

/** A Flower message harmofl cannot act on; the text says what was expected. */
export class FlowerMessageError extends Error {
  override readonly name = 'FlowerMessageError';
}

/** How a site turns Flower config into its run: the spec from its own options, and its seeds. */
export interface SiteRun {
  spec: RunSpec;
  /** The seed of round `round` (0-based), as the simulation gives this site. */
  seedFor(round: number): number;
}

/**
 * Converts between the engine's state layout and PyTorch's through a model of the run's
 * architecture (its ParamStore knows each entry's layout), checking names and shapes.
 */
export class TorchStateCodec {
  constructor(private readonly model: Model) {}

  /** Names and PyTorch shapes of the state, in the model's order. */
  torchShapes(): Map<string, number[]> {
    return new Map([...this.model.params.entries].map(([name, e]) => [name, torchShape(e.variable.shape, e.layout)]));
  }

  /** A Flower ArrayRecord's arrays (PyTorch layouts, any of the npy dtypes) as harmofl named arrays. */
  fromTorch(arrays: ReadonlyMap<string, FlowerArray>, where: string): { state: NamedArrays; dtypes: Map<string, NpyDtype> } {
    const expected = this.torchShapes();
    const missing = [...expected.keys()].filter((k) => !arrays.has(k));
    const extra = [...arrays.keys()].filter((k) => !expected.has(k));
    if (missing.length > 0 || extra.length > 0)
      throw new FlowerMessageError(
        `${where}: the ArrayRecord does not match this model's state_dict (missing ${missing.slice(0, 3).join(', ') || 'none'}; unknown ${extra.slice(0, 3).join(', ') || 'none'}); do the ServerApp and --model agree?`,
      );
    const dict = new Map<string, { shape: number[]; data: Float32Array }>();
    const dtypes = new Map<string, NpyDtype>();
    for (const [name, a] of arrays) {
      if (a.stype !== STYPE_NUMPY)
        throw new FlowerMessageError(`${where}: array ${name} has stype ${a.stype}; harmofl reads ${STYPE_NUMPY}`);
      const npy = decodeNpy(a.data, `${where}: array ${name}`);
      const want = expected.get(name)!;
      if (npy.shape.join(',') !== want.join(',') || a.shape.join(',') !== want.join(','))
        throw new FlowerMessageError(
          `${where}: array ${name} has shape [${npy.shape.join(', ')}], this model's state_dict has [${want.join(', ')}]`,
        );
      dict.set(name, { shape: npy.shape, data: toFloat32(npy) });
      dtypes.set(name, npy.dtype);
    }
    this.model.params.loadTorchStateDict(dict);
    const state = this.model.params.state();
    try {
      return { state: toNamedArrays(state), dtypes };
    } finally {
      tf.dispose([...state.values()]);
    }
  }

  /** Harmofl named arrays as Flower arrays in PyTorch layouts and the model's order, each in `dtypes`' dtype (float32 when absent). */
  toTorch(state: NamedArrays, dtypes: ReadonlyMap<string, NpyDtype>): Map<string, FlowerArray> {
    const tensors = fromNamedArrays(state);
    try {
      this.model.params.loadState(tensors);
    } finally {
      tf.dispose([...tensors.values()]);
    }
    const torch = this.model.params.torchStateDict();
    try {
      const out = new Map<string, FlowerArray>();
      for (const [name, t] of torch) {
        const dtype = dtypes.get(name) ?? 'float32';
        out.set(name, {
          dtype,
          shape: t.shape.slice(),
          stype: STYPE_NUMPY,
          data: encodeNpy(fromFloat32(Float32Array.from(t.dataSync()), t.shape.slice(), dtype)),
        });
      }
      return out;
    } finally {
      tf.dispose([...torch.values()]);
    }
  }
}

/** PyTorch's shape of an entry of our `shape` in `layout` (conv HWIO to OIHW, linear [in, out] to [out, in]). */
function torchShape(shape: readonly number[], layout: string): number[] {
  if (layout === 'conv' || layout === 'convTranspose') return [shape[3]!, shape[2]!, shape[0]!, shape[1]!];
  if (layout === 'linear') return [shape[1]!, shape[0]!];
  return shape.slice();
}

/** The only record of `kind` in a message's content, or the one named `preferred` when there are several. */
function recordOf<K extends FlowerRecord['kind']>(
  content: ReadonlyMap<string, FlowerRecord>,
  kind: K,
  preferred: string,
  where: string,
): Extract<FlowerRecord, { kind: K }> | undefined {
  const found = [...content].filter(([, r]) => r.kind === kind);
  if (found.length <= 1) return found[0]?.[1] as Extract<FlowerRecord, { kind: K }> | undefined;
  const named = content.get(preferred);
  if (named?.kind !== kind)
    throw new FlowerMessageError(
      `${where}: ${found.length} ${kind} records (${found.map(([n]) => n).join(', ')}) and none named ${preferred}`,
    );
  return named as Extract<FlowerRecord, { kind: K }>;
}

/** A ConfigRecord value as a harmofl config value (integers become numbers; bytes and lists are left out). */
function configScalar(v: ConfigValue): number | string | boolean | undefined {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return undefined;
}

/** The harmofl instruction a Flower train or evaluate message asks for, with the dtypes its arrays came in. */
export function instructionOf(
  message: FlowerMessage,
  codec: TorchStateCodec,
  run: SiteRun,
): { instruction: Instruction; dtypes: Map<string, NpyDtype> } {
  const type = message.metadata.messageType;
  const where = `${type || 'untyped'} message ${message.metadata.messageId.slice(0, 12)}`;
  if (type !== 'train' && type !== 'evaluate')
    throw new FlowerMessageError(
      `${where}: harmofl answers train and evaluate messages, not ${JSON.stringify(type)} (is the ServerApp a message-API strategy such as FedAvg?)`,
    );
  if (message.content === undefined) throw new FlowerMessageError(`${where}: it carries an error, not content`);
  const arrays = recordOf(message.content, 'array', 'arrays', where);
  if (arrays === undefined) throw new FlowerMessageError(`${where}: no ArrayRecord (the global model) in the message`);
  const config = recordOf(message.content, 'config', 'config', where)?.values ?? new Map<string, ConfigValue>();
  const serverRound = configScalar(config.get(SERVER_ROUND) ?? message.metadata.groupId);
  const roundNumber = typeof serverRound === 'string' ? Number(serverRound) : serverRound;
  if (typeof roundNumber !== 'number' || !Number.isInteger(roundNumber) || roundNumber < 1)
    throw new FlowerMessageError(`${where}: no ${SERVER_ROUND} (1-based) in its ConfigRecord or group id`);
  const round = roundNumber - 1;
  const lr = configScalar(config.get(LR) ?? Number.NaN);
  const spec: RunSpec = typeof lr === 'number' && lr > 0 ? { ...run.spec, optimizer: { ...run.spec.optimizer, lr } } : run.spec;
  const passed: Record<string, number | string | boolean> = {};
  for (const [k, v] of config) {
    const s = configScalar(v);
    if (s !== undefined) passed[k] = s;
  }
  const harmoflConfig: ConfigRecord = { ...passed, [CONFIG_KEYS.run]: encodeRunSpec(spec), [CONFIG_KEYS.seed]: run.seedFor(round) };
  const { state, dtypes } = codec.fromTorch(arrays.arrays, where);
  const base = { version: PROTOCOL_VERSION, round, arrays: state, config: harmoflConfig };
  const instruction: TrainInstruction | EvaluateInstruction = type === 'train' ? { kind: 'train', ...base } : { kind: 'evaluate', ...base };
  return { instruction, dtypes };
}

/** The Flower reply carrying a harmofl train or evaluate reply. */
export function replyOf(
  to: FlowerMessage,
  reply: TrainReply | EvaluateReply,
  codec: TorchStateCodec,
  dtypes: ReadonlyMap<string, NpyDtype>,
  now = Date.now() / 1000,
): FlowerMessage {
  const content = new Map<string, FlowerRecord>();
  const metrics = new Map<string, MetricValue>();
  if (reply.kind === 'train-reply') {
    content.set(REPLY_RECORDS.arrays, { kind: 'array', arrays: codec.toTorch(reply.arrays, dtypes) });
    metrics.set(NUM_EXAMPLES, BigInt(reply.samples));
    for (const [k, v] of Object.entries(reply.metrics)) metrics.set(k, k === 'steps' ? BigInt(v) : v);
  } else {
    // Weighted by all examples evaluated; per split the metric and its own count.
    metrics.set(NUM_EXAMPLES, BigInt(Object.values(reply.samples).reduce((a, b) => a + b, 0)));
    for (const [split, v] of Object.entries(reply.metrics)) {
      metrics.set(split, v);
      metrics.set(`${split}-examples`, BigInt(reply.samples[split] ?? 0));
    }
  }
  content.set(REPLY_RECORDS.metrics, { kind: 'metric', values: metrics });
  return { metadata: replyMetadata(to, now), content };
}
