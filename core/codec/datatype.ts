/**
 * VSS datatypes and the AVRO `Value` union: which branch a signal uses, and how a VISSv2 string value is turned into
 * that branch and back.
 * @module
 */
import { PipelineError } from "../errors/mod.ts";

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

const SCALARS: Readonly<Record<string, ScalarInfo>> = {
  int8: { branch: "int", min: -128, max: 127 },
  uint8: { branch: "int", min: 0, max: 255 },
  int16: { branch: "int", min: -32768, max: 32767 },
  uint16: { branch: "int", min: 0, max: 65535 },
  int32: { branch: "int", min: -2147483648, max: 2147483647 },
  uint32: { branch: "long", min: 0, max: 4294967295 },
  int64: { branch: "long", min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
  uint64: { branch: "long", min: 0, max: Number.MAX_SAFE_INTEGER },
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
  r = { vss, branch: isArray ? "array" : info.branch, element: info.branch, elementVss: elem };
  resolved.set(vss, r);
  return r;
}

function fail(path: string, field: string, value: unknown, why: string): never {
  throw new PipelineError("codec.value", `${path}: ${field} ${JSON.stringify(value)} ${why}`, { path });
}

/** A scalar JS value of a `Value` branch. */
export type ScalarValue = number | string | boolean;

/**
 * Parse one scalar given as a VISSv2 string (numbers and booleans are accepted too) into the JS value of
 * `elementVss`'s branch, checking ranges.
 *
 * @throws PipelineError `codec.value` naming the signal, the field and the value
 */
export function parseScalar(
  input: unknown,
  elementVss: string,
  options: { path?: string; field?: string } = {},
): ScalarValue {
  const path = options.path ?? "<signal>";
  const field = options.field ?? "value";
  const info = SCALARS[elementVss];
  if (!info) return fail(path, field, input, `has VSS datatype "${elementVss}", which has no AVRO mapping`);
  switch (info.branch) {
    case "string":
      if (typeof input !== "string") return fail(path, field, input, "is not a string (VSS datatype string)");
      return input;
    case "boolean":
      if (input === true || input === "true") return true;
      if (input === false || input === "false") return false;
      return fail(path, field, input, `is not a boolean ("true" or "false") (VSS datatype ${elementVss})`);
    case "float":
    case "double": {
      const n = typeof input === "number" ? input : typeof input === "string" ? parseNumber(input) : NaN;
      if (Number.isNaN(n) && input !== "NaN" && !(typeof input === "number")) {
        return fail(path, field, input, `is not a number (VSS datatype ${elementVss})`);
      }
      if (info.branch === "float" && Number.isFinite(n) && Math.abs(n) > 3.4028234663852886e38) {
        return fail(path, field, input, "is out of range for VSS datatype float (|x| <= 3.4028235e38)");
      }
      return n;
    }
    default: {
      const n = typeof input === "number" ? input : typeof input === "string" ? parseNumber(input) : NaN;
      if (!Number.isInteger(n)) {
        return fail(path, field, input, `is not an integer (VSS datatype ${elementVss})`);
      }
      if (n < info.min! || n > info.max!) {
        return fail(path, field, input, `is out of range for VSS datatype ${elementVss} (${info.min}..${info.max})`);
      }
      return n;
    }
  }
}

function parseNumber(s: string): number {
  const n = Number(s); // decimal, exponent, ±Infinity; ignores surrounding whitespace; "" and "  " give 0
  if (n === 0 && !/\d/.test(s)) return NaN;
  if (s.length > 2 && Number.isInteger(n) && /[xob]/i.test(s)) return NaN; // no 0x/0o/0b literals
  return n;
}

/** The wrapped JS form of a `Value` as avsc reads and writes it: `{item: {float: 1.5}}`. */
export interface AvroValue {
  /** Exactly one key: the branch name. Array elements are wrapped the same way. */
  item: { [branch: string]: ScalarValue | Array<{ [branch: string]: ScalarValue }> };
}

/**
 * Turn a VISSv2 value (a string; for `T[]` a string array or its JSON text) into a wrapped AVRO `Value` of the branch
 * the VSS datatype selects.
 *
 * @throws PipelineError `codec.value` when the value does not fit the datatype
 */
export function toAvroValue(
  input: unknown,
  datatype: AvroDatatype,
  options: { path?: string } = {},
): AvroValue {
  if (datatype.branch !== "array") {
    return { item: { [datatype.branch]: parseScalar(input, datatype.elementVss, options) } };
  }
  const arr = parseArrayInput(input, datatype, options.path ?? "<signal>");
  const el = datatype.element;
  return {
    item: {
      array: arr.map((x, i) => ({
        [el]: parseScalar(x, datatype.elementVss, { path: options.path, field: `value[${i}]` }),
      })),
    },
  };
}

/** Split a VISSv2 array value (string array, or its JSON text) into elements. */
export function parseArrayInput(input: unknown, datatype: AvroDatatype, path: string): unknown[] {
  if (Array.isArray(input)) return input;
  if (typeof input === "string") {
    try {
      const v = JSON.parse(input);
      if (Array.isArray(v)) return v;
    } catch { /* reported below */ }
  }
  return fail(path, "value", input, `is not an array (VSS datatype ${datatype.vss}; give a JSON array of strings)`);
}

/** Shortest decimal text that reads back as the same float32. */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Object.is(v, -0)) return "-0";
  const target = Math.fround(v);
  // Fast path: the fewest decimals k for which round(x·10^k)/10^k reads back as the same float32.
  // (Only below 2^24, where every integer is a float32 and the integer part needs no rounding.)
  for (let k = 0; k < POW10.length && Math.abs(target) < 16777216; k++) {
    const c = Math.round(target * POW10[k]) / POW10[k];
    if (Math.fround(c) === target) return String(c);
  }
  // Otherwise the shortest precision that round-trips (monotone in p, so binary search over 1..9).
  let lo = 1, hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Math.fround(Number(target.toPrecision(mid))) === target) hi = mid;
    else lo = mid + 1;
  }
  return String(Number(target.toPrecision(lo)));
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12];

/** VISSv2 string of one scalar of `branch`. */
export function formatScalar(branch: string, v: unknown): string {
  if (branch === "float") return formatFloat32(v as number);
  if (Object.is(v, -0)) return "-0";
  return String(v);
}

/**
 * VISSv2 string form of a wrapped AVRO `Value`: numbers and booleans as text, arrays as the JSON text of a string
 * array (e.g. `["1","2"]`).
 */
export function fromAvroValue(value: AvroValue): string {
  const item = value.item;
  for (const branch of Object.keys(item)) {
    const v = item[branch];
    if (branch === "array") {
      const out: string[] = [];
      for (const el of v as Array<Record<string, ScalarValue>>) {
        for (const b of Object.keys(el)) out.push(formatScalar(b, el[b]));
      }
      return JSON.stringify(out);
    }
    return formatScalar(branch, v);
  }
  throw new PipelineError("codec.value", "AVRO Value has no branch set");
}
