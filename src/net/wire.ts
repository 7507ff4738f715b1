import { create } from '@bufbuild/protobuf';
import type { NamedArrays } from '../engine/named_arrays.js';
import { MessageError, PROTOCOL_VERSION, type ConfigRecord, type Instruction, type Reply } from '../fl/messages.js';
import { ConfigValueSchema, MessageKind, type ConfigValue, type Header } from '../gen/harmofl/v1/federation_pb.js';
import type { HeaderFields } from './frames.js';

/** Which run and message a frame sequence belongs to: checked on every message. */
export interface MessageAddress {
  federation: string;
  runId: string;
  messageId: string;
}

function configValue(v: number | string | boolean): ConfigValue {
  const value =
    typeof v === 'number'
      ? { case: 'number' as const, value: v }
      : typeof v === 'string'
        ? { case: 'text' as const, value: v }
        : { case: 'flag' as const, value: v };
  return create(ConfigValueSchema, { value });
}

/** The header fields of an instruction (its arrays travel as data frames). */
export function instructionFields(instruction: Instruction, address: MessageAddress): HeaderFields {
  return {
    protocolVersion: PROTOCOL_VERSION,
    ...address,
    round: instruction.round,
    kind: instruction.kind === 'train' ? MessageKind.TRAIN : MessageKind.EVALUATE,
    config: Object.fromEntries(Object.entries(instruction.config).map(([k, v]) => [k, configValue(v)])),
  };
}

/** The header fields of a reply. */
export function replyFields(reply: Reply, address: MessageAddress): HeaderFields {
  const common = { protocolVersion: PROTOCOL_VERSION, ...address, round: reply.round, site: reply.site, metrics: { ...reply.metrics } };
  return reply.kind === 'train-reply'
    ? { ...common, kind: MessageKind.TRAIN_REPLY, samples: reply.samples }
    : { ...common, kind: MessageKind.EVALUATE_REPLY, splitSamples: { ...reply.samples } };
}

function checkVersion(header: Header, where: string): void {
  if (header.protocolVersion !== PROTOCOL_VERSION)
    throw new MessageError(`${where}: protocol version ${header.protocolVersion}; this harmofl speaks ${PROTOCOL_VERSION}`);
}

/** The instruction a header and its arrays carry. */
export function instructionOf(header: Header, arrays: NamedArrays, where: string): Instruction {
  checkVersion(header, where);
  const config: Record<string, number | string | boolean> = {};
  for (const [k, v] of Object.entries(header.config)) if (v.value.case !== undefined) config[k] = v.value.value;
  if (header.kind !== MessageKind.TRAIN && header.kind !== MessageKind.EVALUATE)
    throw new MessageError(`${where}: not an instruction (kind ${header.kind})`);
  return {
    kind: header.kind === MessageKind.TRAIN ? 'train' : 'evaluate',
    version: PROTOCOL_VERSION,
    round: header.round,
    arrays,
    config: config as ConfigRecord,
  };
}

/** The reply a header and its arrays carry. */
export function replyOf(header: Header, arrays: NamedArrays, where: string): Reply {
  checkVersion(header, where);
  const base = { version: PROTOCOL_VERSION, round: header.round, site: header.site, metrics: { ...header.metrics } };
  if (header.kind === MessageKind.TRAIN_REPLY) return { ...base, kind: 'train-reply', arrays, samples: header.samples };
  if (header.kind === MessageKind.EVALUATE_REPLY) return { ...base, kind: 'evaluate-reply', samples: { ...header.splitSamples } };
  throw new MessageError(`${where}: not a reply (kind ${header.kind})`);
}
