/**
 * Typed VSS values: coercion of what a sender gave (a VISSv2 string, a JSON number, boolean or array) to the
 * value of a VSS datatype, and the one text form of a typed value (VISSv2 JSON strings, OVDS `value` column).
 * @module
 */
import type { ScalarValue, VssValue } from "./types.ts";

/** Longest string value (characters), and longest text form of an array value. */
export const MAX_VALUE_CHARS = 4096;
/** Most elements in an array value. */
export const MAX_ARRAY_ELEMENTS = 1024;
const FLOAT32_MAX = 3.4028234663852886e38;

interface Scalar {
  kind: "int" | "bigint" | "float" | "double" | "string" | "boolean";
  min?: bigint;
  max?: bigint;
}

const SCALARS: Readonly<Record<string, Scalar>> = {
  int8: { kind: "int", min: -128n, max: 127n },
  uint8: { kind: "int", min: 0n, max: 255n },
  int16: { kind: "int", min: -32768n, max: 32767n },
  uint16: { kind: "int", min: 0n, max: 65535n },
  int32: { kind: "int", min: -2147483648n, max: 2147483647n },
  uint32: { kind: "int", min: 0n, max: 4294967295n },
  int64: { kind: "bigint", min: -(2n ** 63n), max: 2n ** 63n - 1n },
  uint64: { kind: "bigint", min: 0n, max: 2n ** 64n - 1n },
  float: { kind: "float" },
  double: { kind: "double" },
  string: { kind: "string" },
  boolean: { kind: "boolean" },
};

/** True when `datatype` is a VSS datatype this module types (the scalars and their `T[]` arrays). */
export function isKnownDatatype(datatype: string): boolean {
  return SCALARS[datatype.endsWith("[]") ? datatype.slice(0, -2) : datatype] !== undefined;
}

/** The result of a coercion: the typed value, or why the input does not fit. */
export type Coerced = { ok: true; value: VssValue } | { ok: false; code: string; reason: string };

function no(code: string, reason: string): Coerced {
  return { ok: false, code, reason };
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "bigint") return `${v}`;
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : String(v);
}

/** A decimal number as VISSv2 carries it: no hex/octal/binary literals, no empty or blank text. */
function numberText(s: string): number {
  if (s.length === 0 || s.length > 64 || !/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(s)) return NaN;
  return Number(s);
}

function integer(input: unknown, dt: string, info: Scalar): Coerced {
  let b: bigint;
  if (typeof input === "bigint") b = input;
  else if (typeof input === "number") {
    if (!Number.isSafeInteger(input)) return no("datapoint.type", `${describe(input)} is not an integer (${dt})`);
    b = BigInt(input);
  } else if (typeof input === "string" && /^\s*[-+]?\d{1,20}\s*$/.test(input)) b = BigInt(input.trim());
  else if (typeof input === "string" && Number.isSafeInteger(numberText(input))) b = BigInt(numberText(input));
  else return no("datapoint.type", `${describe(input)} is not an integer (${dt})`);
  if (b < info.min! || b > info.max!) {
    return no("datapoint.range", `${b} is out of range for ${dt} (${info.min}..${info.max})`);
  }
  const n = Number(b);
  return { ok: true, value: info.kind === "bigint" && !Number.isSafeInteger(n) ? b : n };
}

function scalar(input: unknown, dt: string): Coerced {
  const info = SCALARS[dt];
  switch (info.kind) {
    case "string":
      if (typeof input === "string") {
        return input.length > MAX_VALUE_CHARS
          ? no("datapoint.too_long", `string of ${input.length} characters, more than ${MAX_VALUE_CHARS}`)
          : { ok: true, value: input };
      }
      if (typeof input === "number" && Number.isFinite(input)) return { ok: true, value: String(input) };
      if (typeof input === "boolean" || typeof input === "bigint") return { ok: true, value: String(input) };
      return no("datapoint.type", `${describe(input)} is not a string`);
    case "boolean":
      if (input === true || input === "true") return { ok: true, value: true };
      if (input === false || input === "false") return { ok: true, value: false };
      return no("datapoint.type", `${describe(input)} is not a boolean ("true" or "false")`);
    case "float":
    case "double": {
      const n = typeof input === "number"
        ? input
        : typeof input === "string"
        ? numberText(input)
        : typeof input === "bigint"
        ? Number(input)
        : NaN;
      if (!Number.isFinite(n)) return no("datapoint.type", `${describe(input)} is not a finite number (${dt})`);
      if (info.kind === "float" && Math.abs(n) > FLOAT32_MAX) {
        return no("datapoint.range", `${n} is out of range for float (|x| <= 3.4028235e38)`);
      }
      // A float is a float32: its value is the shortest double that reads back as the same float32, so that every
      // encoding of it (JSON text, AVRO float) gives one text form and one OVDS row.
      return { ok: true, value: info.kind === "float" ? canonicalFloat32(n) : n };
    }
    default:
      return integer(input, dt, info);
  }
}

function array(input: unknown, dt: string): Coerced {
  let arr = input;
  if (typeof input === "string") {
    if (input.length > MAX_VALUE_CHARS) {
      return no("datapoint.too_long", `array text of ${input.length} characters, more than ${MAX_VALUE_CHARS}`);
    }
    try {
      arr = JSON.parse(input);
    } catch {
      return no("datapoint.type", `${describe(input)} is not an array (${dt}: a JSON array)`);
    }
  }
  if (!Array.isArray(arr)) return no("datapoint.type", `${describe(input)} is not an array (${dt})`);
  if (arr.length > MAX_ARRAY_ELEMENTS) {
    return no("datapoint.too_long", `array of ${arr.length} elements, more than ${MAX_ARRAY_ELEMENTS}`);
  }
  const el = dt.slice(0, -2);
  const out: ScalarValue[] = new Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const c = scalar(arr[i], el);
    if (!c.ok) return no(c.code, `element ${i}: ${c.reason}`);
    out[i] = c.value as ScalarValue;
  }
  return { ok: true, value: out };
}

/**
 * Coerces `input` to VSS `datatype` (`uint8`, `float`, `string[]`, …), checking the datatype's range; `float` values
 * become {@link canonicalFloat32}, so {@link formatValue} needs no datatype for coerced values. Without a
 * datatype (a path no schema knows) strings, finite numbers, bigints and booleans pass as they are; anything else
 * (objects, arrays, null) is refused.
 */
export function coerceValue(input: unknown, datatype?: string): Coerced {
  if (datatype === undefined || !isKnownDatatype(datatype)) {
    if (typeof input === "string") return scalar(input, "string");
    if (typeof input === "number") {
      return Number.isFinite(input) ? { ok: true, value: input } : no("datapoint.type", "number is not finite");
    }
    if (typeof input === "boolean" || typeof input === "bigint") return { ok: true, value: input };
    return no(
      "datapoint.type",
      `${input === undefined ? "missing value" : describe(input)}: expected a string, number or boolean`,
    );
  }
  return datatype.endsWith("[]") ? array(input, datatype) : scalar(input, datatype);
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12];

/** Shortest decimal text that reads back as the same float32. */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Object.is(v, -0)) return "-0";
  const target = Math.fround(v);
  for (let k = 0; k < POW10.length && Math.abs(target) < 16777216; k++) {
    const c = Math.round(target * POW10[k]) / POW10[k];
    if (Math.fround(c) === target) return String(c);
  }
  let lo = 1, hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Math.fround(Number(target.toPrecision(mid))) === target) hi = mid;
    else lo = mid + 1;
  }
  return String(Number(target.toPrecision(lo)));
}

/** The shortest double that reads back as the same float32 as `v` (`0.30000001192092896` → `0.3`). */
export function canonicalFloat32(v: number): number {
  return Object.is(v, -0) ? -0 : Number(formatFloat32(v));
}

/** The text of one scalar; `float` values as the shortest text of their float32. */
export function formatScalar(v: ScalarValue, datatype?: string): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") {
    if (datatype === "float" || datatype === "float[]") return formatFloat32(v);
    return Object.is(v, -0) ? "-0" : String(v);
  }
  return String(v);
}

/**
 * The one text form of a typed value (VISSv2 `value` strings, the OVDS `value` column): numbers as decimal text
 * (float32 shortest for `float`), booleans `true`/`false`, arrays as the JSON text of a string array (`["1","2"]`).
 */
export function formatValue(value: VssValue, datatype?: string): string {
  if (!Array.isArray(value)) return formatScalar(value as ScalarValue, datatype);
  const out: string[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) out[i] = formatScalar(value[i], datatype);
  return JSON.stringify(out);
}
