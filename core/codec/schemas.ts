/**
 * The VSS AVRO schema set (vss-tools `serialization` branch, `serializations/avro/schemas/`), embedded so that
 * encoding needs no file access, plus the avsc {@link Type}s built from it.
 *
 * The embedded schemas are byte-for-byte the JSON in `assets/avro/vss-tools/schemas/` (a test checks it).
 * @module
 */
import avro from "avsc";

/** The schema names in the order the named types must be parsed. */
export const SCHEMA_NAMES = [
  "Value",
  "TimeStampedRecord",
  "TimeSeries",
  "SpecifiedTimeStampedRecord",
  "Snapshot",
  "Message",
  "MessageSequence",
] as const;
/** One of {@link SCHEMA_NAMES}. */
export type SchemaName = typeof SCHEMA_NAMES[number];

const PRIMS = ["int", "long", "float", "double", "string", "boolean"];

/** The schemas as declared upstream (by name; they reference each other by name). */
export const SCHEMAS: Readonly<Record<SchemaName, Readonly<Record<string, unknown>>>> = {
  Value: {
    type: "record",
    name: "Value",
    fields: [{ name: "item", type: [...PRIMS, { type: "array", items: [...PRIMS] }] }],
  },
  TimeStampedRecord: {
    type: "record",
    name: "TimeStampedRecord",
    fields: [{ name: "ts", type: "long" }, { name: "value", type: "Value" }],
  },
  TimeSeries: {
    type: "record",
    name: "TimeSeries",
    fields: [
      { name: "signal_identifier", type: "string" },
      { name: "count", type: "int" },
      { name: "items", type: { type: "array", items: "TimeStampedRecord" } },
    ],
  },
  SpecifiedTimeStampedRecord: {
    type: "record",
    name: "SpecifiedTimeStampedRecord",
    fields: [
      { name: "signal_identifier", type: "string" },
      { name: "ts", type: "long" },
      { name: "value", type: "Value" },
    ],
  },
  Snapshot: {
    type: "record",
    name: "Snapshot",
    fields: [
      { name: "count", type: "int" },
      {
        name: "timeperiod",
        type: {
          type: "record",
          name: "Timeperiod",
          fields: [{ name: "start", type: "long" }, { name: "end", type: "long" }],
        },
      },
      { name: "values", type: { type: "array", items: "SpecifiedTimeStampedRecord" } },
    ],
  },
  Message: {
    type: "record",
    name: "Message",
    fields: [{ name: "item", type: ["SpecifiedTimeStampedRecord", "TimeSeries", "Snapshot"] }],
  },
  MessageSequence: {
    type: "record",
    name: "MessageSequence",
    fields: [{ name: "seq", type: { type: "array", items: "Message" } }],
  },
};

/** The minimal avsc `Type` surface this project uses. */
export interface AvroType {
  /** Encode a value (throws on values that do not fit). */
  toBuffer(value: unknown): Uint8Array;
  /** Decode one value that fills the whole buffer. */
  fromBuffer(bytes: Uint8Array): unknown;
  /** Decode one value at `pos`; `offset` is where the next value starts (negative when truncated). */
  decode(bytes: Uint8Array, pos?: number): { value: unknown; offset: number };
  /** True when `value` fits the schema; `errorHook` is called for each offending path. */
  isValid(value: unknown, opts?: { errorHook?: (path: string[], value: unknown) => void }): boolean;
  /** The fully expanded schema (named types inlined at their first use). */
  schema(): unknown;
}

let cached: Readonly<Record<SchemaName, AvroType>> | undefined;

/**
 * The avsc types of the schema set, parsed once. Unions are wrapped (`{float: 1.5}`), which is how a branch is
 * chosen explicitly.
 */
export function avroTypes(): Readonly<Record<SchemaName, AvroType>> {
  if (!cached) {
    const registry: Record<string, unknown> = {};
    const out: Partial<Record<SchemaName, AvroType>> = {};
    for (const name of SCHEMA_NAMES) {
      out[name] = avro.Type.forSchema(SCHEMAS[name] as never, {
        registry: registry as never,
        wrapUnions: true,
      }) as unknown as AvroType;
    }
    cached = out as Record<SchemaName, AvroType>;
  }
  return cached;
}

/**
 * An avsc type for a schema read from a file header (such as an object container file's `avro.schema`),
 * with wrapped unions like {@link avroTypes}.
 */
export function avroTypeForSchema(schema: unknown): AvroType {
  return avro.Type.forSchema(schema as never, { wrapUnions: true }) as unknown as AvroType;
}
