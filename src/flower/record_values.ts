import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  BoolListSchema,
  BytesListSchema,
  DoubleListSchema,
  SintListSchema,
  StringListSchema,
  UintListSchema,
  ConfigRecordSchema,
  ConfigRecordValueSchema,
  MetricRecordSchema,
  MetricRecordValueSchema,
  type ConfigRecordValue,
  type MetricRecordValue,
} from '../gen/flwr/proto/recorddict_pb.js';

/**
 * ConfigRecord and MetricRecord object bodies: the records' protobuf messages, items in key
 * order of insertion. Values keep Python's types: an integer is a bigint (sint64, or uint64 above
 * int64's range), a float a number (double).
 */

/** A ConfigRecord value as Flower types it. */
export type ConfigValue = number | bigint | boolean | string | Uint8Array | number[] | bigint[] | boolean[] | string[] | Uint8Array[];

/** A MetricRecord value as Flower types it. */
export type MetricValue = number | bigint | number[] | bigint[];

const INT64_MAX = (1n << 63n) - 1n;

type ValueCase = ConfigRecordValue['value'];

/** The protobuf oneof of a value, chosen as Flower's serde does (bool before int; uint64 only above int64). */
function valueCase(v: ConfigValue, allowBool: boolean): ValueCase {
  if (typeof v === 'boolean') return { case: 'bool', value: v };
  if (typeof v === 'bigint') return v > INT64_MAX ? { case: 'uint64', value: v } : { case: 'sint64', value: v };
  if (typeof v === 'number') return { case: 'double', value: v };
  if (typeof v === 'string') return { case: 'string', value: v };
  if (v instanceof Uint8Array) return { case: 'bytes', value: v };
  const first: unknown = v[0];
  // Python checks bool first, so an empty list is a BoolList in a ConfigRecord (a DoubleList in a MetricRecord).
  if (first === undefined)
    return allowBool ? { case: 'boolList', value: create(BoolListSchema) } : { case: 'doubleList', value: create(DoubleListSchema) };
  if (typeof first === 'boolean') return { case: 'boolList', value: create(BoolListSchema, { vals: v as boolean[] }) };
  if (typeof first === 'bigint') {
    const vals = v as bigint[];
    return vals.some((x) => x > INT64_MAX)
      ? { case: 'uintList', value: create(UintListSchema, { vals }) }
      : { case: 'sintList', value: create(SintListSchema, { vals }) };
  }
  if (typeof first === 'number') return { case: 'doubleList', value: create(DoubleListSchema, { vals: v as number[] }) };
  if (typeof first === 'string') return { case: 'stringList', value: create(StringListSchema, { vals: v as string[] }) };
  return { case: 'bytesList', value: create(BytesListSchema, { vals: v as Uint8Array[] }) };
}

/** A metric value's oneof (the config oneof's numeric cases, which share field numbers). */
function metricCase(v: MetricValue): MetricRecordValue['value'] {
  const c = valueCase(v, false);
  if (
    c.case === 'double' ||
    c.case === 'sint64' ||
    c.case === 'uint64' ||
    c.case === 'doubleList' ||
    c.case === 'sintList' ||
    c.case === 'uintList'
  )
    return c;
  throw new Error(`a MetricRecord holds numbers or lists of numbers, got ${String(v)}`);
}

/** A value from its protobuf oneof. */
function fromCase(v: ValueCase | MetricRecordValue['value'], key: string): ConfigValue {
  if (v.case === undefined) throw new Error(`record value ${key} is empty`);
  if (v.case.endsWith('List')) return [...(v.value as { vals: ConfigValue[] }).vals] as ConfigValue;
  return v.value as ConfigValue;
}

/** The body of a ConfigRecord object. */
export function encodeConfigRecord(values: ReadonlyMap<string, ConfigValue>): Uint8Array {
  return toBinary(
    ConfigRecordSchema,
    create(ConfigRecordSchema, {
      items: [...values].map(([key, v]) => ({ key, value: create(ConfigRecordValueSchema, { value: valueCase(v, true) }) })),
    }),
  );
}

/** The values of a ConfigRecord object body. */
export function decodeConfigRecord(body: Uint8Array): Map<string, ConfigValue> {
  return new Map(
    fromBinary(ConfigRecordSchema, body).items.map((item) => [item.key, fromCase(item.value?.value ?? { case: undefined }, item.key)]),
  );
}

/** The body of a MetricRecord object. */
export function encodeMetricRecord(values: ReadonlyMap<string, MetricValue>): Uint8Array {
  return toBinary(
    MetricRecordSchema,
    create(MetricRecordSchema, {
      items: [...values].map(([key, v]) => ({
        key,
        value: create(MetricRecordValueSchema, { value: metricCase(v) }),
      })),
    }),
  );
}

/** The values of a MetricRecord object body. */
export function decodeMetricRecord(body: Uint8Array): Map<string, MetricValue> {
  return new Map(
    fromBinary(MetricRecordSchema, body).items.map((item) => [
      item.key,
      fromCase(item.value?.value ?? { case: undefined }, item.key) as MetricValue,
    ]),
  );
}
