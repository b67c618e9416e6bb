/**
 * The signed envelope: canonical string, header names, MQTT wrapper fields and their validation.
 * The specification is in `mod.ts`.
 * @module
 */
import { ID_PATTERN } from "./keystore.ts";

/** First line of every canonical string (names the scheme and its version). */
export const SCHEME = "CCS-HMAC-SHA256";
/** HTTP header: key id. */
export const HEADER_KEY_ID = "X-CCS-Key-Id";
/** HTTP header: sender id. */
export const HEADER_SENDER = "X-CCS-Sender";
/** HTTP header: counter (decimal). */
export const HEADER_COUNTER = "X-CCS-Counter";
/** HTTP header: timestamp (decimal ms since the Unix epoch). */
export const HEADER_TIMESTAMP = "X-CCS-Timestamp";
/** HTTP header: truncated tag (lowercase hex). */
export const HEADER_SIGNATURE = "X-CCS-Signature";
/** The "method" line of MQTT envelopes. */
export const MQTT_METHOD = "PUBLISH";
/** Version field of the MQTT JSON wrapper. */
export const MQTT_VERSION = 1;

/** Fields of a canonical string, except the body hash. */
export interface CanonicalFields {
  /** Key id. */
  keyId: string;
  /** Sender id. */
  senderId: string;
  /** Upper-case HTTP method, or `PUBLISH` for MQTT. */
  method: string;
  /** HTTP request target (path and query as sent), or the MQTT topic. */
  path: string;
  /** Monotonic counter, a safe integer ≥ 0. */
  counter: number;
  /** Sender time, ms since the Unix epoch. */
  timestamp: number;
}

/** The canonical string up to and including the newline before the body hash. */
export function canonicalPrefix(f: CanonicalFields): string {
  return `${SCHEME}\n${f.keyId}\n${f.senderId}\n${f.method}\n${f.path}\n${f.counter}\n${f.timestamp}\n`;
}

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;
const METHOD = /^[A-Z]{1,16}$/;

/** Parse a decimal counter or timestamp; undefined unless it is a canonical safe integer. */
export function parseDecimal(s: string | undefined): number | undefined {
  if (s === undefined || !DECIMAL.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Why a field is unusable, or undefined when it is fine. */
export function checkFields(f: { keyId: string; senderId: string; method: string; path: string }): string | undefined {
  if (!ID_PATTERN.test(f.keyId)) return "key id must be 1-64 of A-Z a-z 0-9 . _ : -";
  if (!ID_PATTERN.test(f.senderId)) return "sender id must be 1-64 of A-Z a-z 0-9 . _ : -";
  if (!METHOD.test(f.method)) return "method must be upper-case letters";
  if (f.path.length === 0 || f.path.length > 4096 || /[\n\r]/.test(f.path)) {
    return "path/topic must be 1-4096 characters without line breaks";
  }
  return undefined;
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return bytes.toHex();
}

/** Bytes of lowercase or upper-case hex `s` with exactly `n` bytes, or undefined. */
export function fromHex(s: string, n: number): Uint8Array | undefined {
  if (s.length !== 2 * n) return undefined;
  try {
    return Uint8Array.fromHex(s);
  } catch {
    return undefined;
  }
}

/** Standard base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/** Bytes of standard base64 `s`, or undefined when it is not base64. */
export function fromBase64(s: string): Uint8Array | undefined {
  try {
    return Uint8Array.fromBase64(s, { lastChunkHandling: "strict" });
  } catch {
    return undefined;
  }
}

/** The MQTT JSON wrapper (the whole MQTT payload). */
export interface MessageEnvelope {
  /** Wrapper version, {@link MQTT_VERSION}. */
  v: number;
  /** Key id. */
  keyId: string;
  /** Sender id. */
  sender: string;
  /** Counter. */
  counter: number;
  /** Timestamp, ms since the Unix epoch. */
  timestamp: number;
  /** Truncated tag, lowercase hex. */
  signature: string;
  /** The body, standard base64. */
  body: string;
}
