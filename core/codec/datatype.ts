/**
 * VSS datatypes and the AVRO `Value` union: which branch a signal uses, whether a typed value fits it, and the
 * wrapped (avsc) form of typed values.
 * @module
 */
import { canonicalFloat32, type ScalarValue, type VssValue } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";

export type { ScalarValue, VssValue };

/** The branches of the `Value.item` union, in schema order (the index is the union index on the wire). */
export const VALUE_BRANCHES = ["int", "long", "float", "double", "string", "boolean", "array"] as const;
/** A branch of the `Value.item` union. */
export type ValueBranch = typeof VALUE_BRANCHES[number];
/** A scalar branch (also the branches of the array items union). */
export type ScalarBranch = Exclude<ValueBranch, "array">;

/** Union index of each branch. */
export const BRANCH_INDEX: Readonly<Record<ValueBranch, number>> = {
  int: 0,
  long: 1,
  float: 2,
  double: 3,
  string: 4,
  boolean: 5,
  array: 6,
};

interface ScalarInfo {
  branch: ScalarBranch;
  min?: number;
  max?: number;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const FLOAT32_MAX = 3.4028234663852886e38;

const SCALARS: Readonly<Record<string, ScalarInfo>> = {
  int8: { branch: "int", min: -128, max: 127 },
  uint8: { branch: "int", min: 0, max: 255 },
  int16: { branch: "int", min: -32768, max: 32767 },
  uint16: { branch: "int", min: 0, max: 65535 },
  int32: { branch: "int", min: -2147483648, max: 2147483647 },
  uint32: { branch: "long", min: 0, max: 4294967295 },
  int64: { branch: "long" },
  uint64: { branch: "long", min: 0 },
  float: { branch: "float" },
  double: { branch: "double" },
  string: { branch: "string" },
  boolean: { branch: "boolean" },
};

/** A VSS datatype resolved to its AVRO representation. */
export interface AvroDatatype {
  /** The VSS datatype name, e.g. `uint8` or `string[]`. */
  readonly vss: string;
  /** The `Value.item` branch. */
  readonly branch: ValueBranch;
  /** The scalar branch (for arrays: the branch of every element). */
  readonly element: ScalarBranch;
  /** Scalar VSS datatype (for arrays: the element datatype). */
  readonly elementVss: string;
  /** Smallest element value of an integer datatype that fits without a bigint (`-Infinity`: none). */
  readonly min: number;
  /** Largest element value of an integer datatype that fits without a bigint (`Infinity`: none). */
  readonly max: number;
}

const resolved = new Map<string, AvroDatatype>();

/**
 * Resolve a VSS datatype (`int8` … `double`, `boolean`, `string`, and `T[]`) to its `Value` branch:
 * int8–int32, uint8, uint16 → `int`; uint32, int64, uint64 → `long`; float → `float`; double → `double`;
 * `T[]` → `array` of T's branch.
 *
 * @param vss VSS datatype name
 * @param options.path signal path, for the error message
 * @throws PipelineError `codec.datatype` for datatypes with no AVRO mapping (e.g. structs)
 */
export function avroDatatype(vss: string, options: { path?: string } = {}): AvroDatatype {
  let r = resolved.get(vss);
  if (r) return r;
  const isArray = vss.endsWith("[]");
  const elem = isArray ? vss.slice(0, -2) : vss;
  const info = SCALARS[elem];
  if (!info) {
    throw new PipelineError(
      "codec.datatype",
      `${options.path ?? "<signal>"}: VSS datatype "${vss}" has no AVRO Value branch ` +
        `(supported: ${Object.keys(SCALARS).join(", ")} and their [] arrays)`,
      { path: options.path },
    );
  }
  r = {
    vss,
    branch: isArray ? "array" : info.branch,
    element: info.branch,
    elementVss: elem,
    min: info.min ?? -Infinity,
    max: info.max ?? Infinity,
  };
  resolved.set(vss, r);
  return r;
}

function scalarProblem(v: unknown, dt: AvroDatatype): string | undefined {
  const info = SCALARS[dt.elementVss];
  switch (dt.element) {
    case "int":
      return typeof v === "number" && Number.isInteger(v) && v >= info.min! && v <= info.max!
        ? undefined
        : `${describe(v)} is not a ${dt.elementVss} (${info.min}..${info.max})`;
    case "long":
      if (typeof v === "number") {
        if (!Number.isSafeInteger(v)) return `${describe(v)} is not an integer (${dt.elementVss})`;
        if (info.min !== undefined && v < info.min) return `${v} is below ${info.min} (${dt.elementVss})`;
        return info.max !== undefined && v > info.max ? `${v} is above ${info.max} (${dt.elementVss})` : undefined;
      }
      if (typeof v !== "bigint") return `${describe(v)} is not an integer (${dt.elementVss})`;
      if (v < INT64_MIN || v > INT64_MAX || (info.min !== undefined && v < 0n)) {
        return `${v} has no AVRO long form (${dt.elementVss}; AVRO long is -2^63..2^63-1)`;
      }
      return undefined;
    case "float":
      return typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= FLOAT32_MAX
        ? undefined
        : `${describe(v)} is not a finite float32`;
    case "double":
      return typeof v === "number" && Number.isFinite(v) ? undefined : `${describe(v)} is not a finite double`;
    case "string":
      return typeof v === "string" ? undefined : `${describe(v)} is not a string`;
    default:
      return typeof v === "boolean" ? undefined : `${describe(v)} is not a boolean`;
  }
}

/** True when scalar `v` fits the element branch of `dt` (the fast check; {@link valueProblem} says why not). */
function scalarFits(v: unknown, dt: AvroDatatype): boolean {
  switch (dt.element) {
    case "float":
      return typeof v === "number" && Math.abs(v) <= FLOAT32_MAX;
    case "double":
      return typeof v === "number" && v - v === 0;
    case "string":
      return typeof v === "string";
    case "boolean":
      return typeof v === "boolean";
    case "int":
      return typeof v === "number" && Number.isInteger(v) && v >= dt.min && v <= dt.max;
    default:
      return typeof v === "number"
        ? Number.isSafeInteger(v) && v >= dt.min && v <= dt.max
        : scalarProblem(v, dt) === undefined;
  }
}

/** True when the typed `value` fits `datatype`'s `Value` branch (per datapoint, allocation-free). */
export function valueFits(value: VssValue, datatype: AvroDatatype): boolean {
  if (datatype.branch !== "array") return !Array.isArray(value) && scalarFits(value, datatype);
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (!scalarFits(value[i], datatype)) return false;
  return true;
}

/**
 * Why the typed `value` does not fit `datatype`'s `Value` branch (a string for a float signal, an array for a scalar,
 * 2^64-1 for a `uint64`, which AVRO `long` cannot carry), or undefined when it fits. Checked before anything is written.
 */
export function valueProblem(value: VssValue, datatype: AvroDatatype): string | undefined {
  if (datatype.branch !== "array") {
    return Array.isArray(value) ? `an array is not a ${datatype.vss}` : scalarProblem(value, datatype);
  }
  if (!Array.isArray(value)) return `${describe(value)} is not an array (${datatype.vss})`;
  for (let i = 0; i < value.length; i++) {
    const p = scalarProblem(value[i], datatype);
    if (p) return `element ${i}: ${p}`;
  }
  return undefined;
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "bigint") return `${v}`;
  return Array.isArray(v) ? "an array" : v === null ? "null" : typeof v === "object" ? "an object" : String(v);
}

/** The wrapped JS form of a `Value` as avsc reads and writes it: `{item: {float: 1.5}}`. */
export interface AvroValue {
  /** Exactly one key: the branch name. Array elements are wrapped the same way. */
  item: { [branch: string]: unknown };
}

function avscScalar(v: ScalarValue, branch: ScalarBranch): unknown {
  // avsc's long is a JS number; values beyond 2^53 cannot go through the generic object API (the hand-written
  // writers carry them exactly).
  return typeof v === "bigint" && branch === "long" ? Number(v) : v;
}

/**
 * A typed value as a wrapped AVRO `Value` of `datatype`'s branch (the avsc object API).
 * @throws PipelineError `codec.value` when the value does not fit ({@link valueProblem})
 */
export function toAvroValue(value: VssValue, datatype: AvroDatatype, options: { path?: string } = {}): AvroValue {
  const p = valueProblem(value, datatype);
  if (p) throw new PipelineError("codec.value", `${options.path ?? "<signal>"}: ${p}`, { path: options.path });
  if (datatype.branch !== "array") {
    return { item: { [datatype.branch]: avscScalar(value as ScalarValue, datatype.element) } };
  }
  const el = datatype.element;
  return { item: { array: (value as readonly ScalarValue[]).map((x) => ({ [el]: avscScalar(x, el) })) } };
}

function fromScalar(branch: string, v: unknown): ScalarValue {
  if (branch === "float") return canonicalFloat32(v as number);
  return v as ScalarValue;
}

/** The typed value of a wrapped AVRO `Value` (floats as the shortest double of their float32). */
export function fromAvroValue(value: AvroValue): VssValue {
  const item = value.item;
  for (const branch of Object.keys(item)) {
    const v = item[branch];
    if (branch === "array") {
      const out: ScalarValue[] = [];
      for (const el of v as Array<Record<string, unknown>>) {
        for (const b of Object.keys(el)) out.push(fromScalar(b, el[b]));
      }
      return out;
    }
    return fromScalar(branch, v);
  }
  throw new PipelineError("codec.value", "AVRO Value has no branch set");
}
