import type { NamedArrays } from '../engine/named_arrays.js';

/** Version of the instruction and reply shapes below; a peer speaking another one is refused. */
export const PROTOCOL_VERSION = 1 as const;

/** A small typed record of settings (server to client). */
export type ConfigRecord = Readonly<Record<string, number | string | boolean>>;

/** A small typed record of measurements (client to server). */
export type MetricsRecord = Readonly<Record<string, number>>;

interface Envelope {
  version: typeof PROTOCOL_VERSION;
  /** The server round this message belongs to (0-based). */
  round: number;
}

/** Server to client: train locally from `arrays` (the global model) with `config`. */
export interface TrainInstruction extends Envelope {
  kind: 'train';
  arrays: NamedArrays;
  config: ConfigRecord;
}

/** Server to client: evaluate `arrays` on the splits named in `config.splits` (comma-separated). */
export interface EvaluateInstruction extends Envelope {
  kind: 'evaluate';
  arrays: NamedArrays;
  config: ConfigRecord;
}

/** Client to server after training: the new local state, the sample count, and metrics such as `trainLoss` and `steps`. */
export interface TrainReply extends Envelope {
  kind: 'train-reply';
  site: string;
  arrays: NamedArrays;
  samples: number;
  metrics: MetricsRecord;
}

/** Client to server after evaluation: per split its metric and its sample count. */
export interface EvaluateReply extends Envelope {
  kind: 'evaluate-reply';
  site: string;
  metrics: MetricsRecord;
  samples: MetricsRecord;
}

export type Instruction = TrainInstruction | EvaluateInstruction;
export type Reply = TrainReply | EvaluateReply;

/** The reply a given instruction expects. */
export type ReplyTo<I extends Instruction> = I extends TrainInstruction ? TrainReply : EvaluateReply;

/** A malformed or inconsistent message; the text names what is wrong and where it came from. */
export class MessageError extends Error {
  override readonly name = 'MessageError';
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Checks that `x` is named arrays with integer shapes whose sizes match their float32 data. */
export function checkNamedArrays(x: unknown, where: string): NamedArrays {
  if (!isObject(x)) throw new MessageError(`${where}: arrays must be an object of named arrays`);
  for (const [name, a] of Object.entries(x)) {
    if (!isObject(a) || !Array.isArray(a['shape']) || !(a['data'] instanceof Float32Array))
      throw new MessageError(`${where}: entry ${name} must be { shape: number[], data: Float32Array }`);
    const shape = a['shape'] as unknown[];
    if (!shape.every((d) => Number.isInteger(d) && (d as number) >= 0))
      throw new MessageError(`${where}: entry ${name} has a shape that is not a list of sizes: ${JSON.stringify(shape)}`);
    const size = (shape as number[]).reduce((p, d) => p * d, 1);
    if (size !== a['data'].length)
      throw new MessageError(`${where}: entry ${name} has shape [${shape.join(', ')}] (${size} values) but ${a['data'].length} values`);
  }
  return x as NamedArrays;
}

function checkRecord(x: unknown, where: string, field: string, types: ReadonlyArray<'number' | 'string' | 'boolean'>): void {
  if (!isObject(x)) throw new MessageError(`${where}: ${field} must be an object`);
  for (const [k, v] of Object.entries(x))
    if (!(types as readonly string[]).includes(typeof v) || (field === 'samples' && !(Number.isInteger(v) && (v as number) >= 0)))
      throw new MessageError(`${where}: ${field}.${k} must be ${types.join(' or ')}, got ${JSON.stringify(v)}`);
}

function checkEnvelope(x: unknown, where: string, kinds: readonly string[]): Record<string, unknown> {
  if (!isObject(x)) throw new MessageError(`${where}: a message must be an object`);
  if (!kinds.includes(x['kind'] as string))
    throw new MessageError(`${where}: kind must be one of ${kinds.join(', ')}, got ${JSON.stringify(x['kind'])}`);
  if (x['version'] !== PROTOCOL_VERSION)
    throw new MessageError(`${where}: protocol version ${JSON.stringify(x['version'])}; this harmofl speaks ${PROTOCOL_VERSION}`);
  if (!Number.isInteger(x['round']) || (x['round'] as number) < 0)
    throw new MessageError(`${where}: round must be a non-negative integer, got ${JSON.stringify(x['round'])}`);
  return x;
}

/** Validates a server-to-client message; throws a MessageError naming `where` and the fault. */
export function validateInstruction(x: unknown, where: string): Instruction {
  const m = checkEnvelope(x, where, ['train', 'evaluate']);
  checkNamedArrays(m['arrays'], where);
  checkRecord(m['config'], where, 'config', ['number', 'string', 'boolean']);
  return m as unknown as Instruction;
}

/** Validates a client-to-server message; throws a MessageError naming `where` and the fault. */
export function validateReply(x: unknown, where: string): Reply {
  const m = checkEnvelope(x, where, ['train-reply', 'evaluate-reply']);
  if (typeof m['site'] !== 'string' || m['site'] === '') throw new MessageError(`${where}: site must be a non-empty string`);
  checkRecord(m['metrics'], where, 'metrics', ['number']);
  if (m['kind'] === 'train-reply') {
    checkNamedArrays(m['arrays'], where);
    if (!Number.isInteger(m['samples']) || (m['samples'] as number) < 0)
      throw new MessageError(`${where}: samples must be a non-negative integer, got ${JSON.stringify(m['samples'])}`);
  } else checkRecord(m['samples'], where, 'samples', ['number']);
  return m as unknown as Reply;
}

/**
 * Checks that an update has exactly the entries and shapes of `reference` (the global model) and
 * only finite values; throws a MessageError naming the first entry that differs.
 */
export function checkUpdateMatches(reference: NamedArrays, update: NamedArrays, where: string): void {
  const missing = Object.keys(reference).filter((k) => !(k in update));
  const extra = Object.keys(update).filter((k) => !(k in reference));
  if (missing.length > 0)
    throw new MessageError(`${where}: update lacks ${missing.length} entries of the global model, e.g. ${missing.slice(0, 3).join(', ')}`);
  if (extra.length > 0)
    throw new MessageError(`${where}: update has ${extra.length} entries the global model lacks, e.g. ${extra.slice(0, 3).join(', ')}`);
  for (const [name, ref] of Object.entries(reference)) {
    const a = update[name]!;
    if (a.shape.length !== ref.shape.length || a.shape.some((d, i) => d !== ref.shape[i]))
      throw new MessageError(`${where}: entry ${name} has shape [${a.shape.join(', ')}], the global model [${ref.shape.join(', ')}]`);
    if (a.data.length !== ref.data.length)
      throw new MessageError(`${where}: entry ${name} has ${a.data.length} values, the global model ${ref.data.length}`);
    for (let i = 0; i < a.data.length; i++)
      if (!Number.isFinite(a.data[i]!)) throw new MessageError(`${where}: entry ${name} holds ${a.data[i]} at index ${i}`);
  }
}
