/**
 * The sending side of the envelope: signs HTTP requests (headers) and MQTT messages (JSON wrapper).
 * @module
 */
import { PipelineError } from "../errors/mod.ts";
import { WasmCrypto } from "./wasm_crypto.ts";
import {
  canonicalPrefix,
  checkFields,
  HEADER_COUNTER,
  HEADER_KEY_ID,
  HEADER_SENDER,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  type MessageEnvelope,
  MQTT_METHOD,
  MQTT_VERSION,
  toBase64,
  toHex,
} from "./envelope.ts";
import { ID_PATTERN, MIN_KEY_BYTES } from "./keystore.ts";

/** Options of {@link createSigner}. */
export interface SignerOptions {
  /** Key id the receiver knows the key by. */
  keyId: string;
  /** The key bytes (≥ 16; 32 random bytes recommended). Not retained: only the HMAC pad states are. */
  key: Uint8Array;
  /** This sender's id (e.g. the vehicle id); the receiver keeps one replay window per (keyId, senderId). */
  senderId: string;
  /** Tag length in bits, a multiple of 8 from 32 to 256 (default 128). Must match the verifier's. */
  tagBits?: number;
  /** Clock, ms since the Unix epoch (default `Date.now`). */
  now?: () => number;
  /**
   * First counter value (default `now() * 1000`, so that counters keep increasing across restarts
   * without persisted state as long as the clock does not go back and fewer than 1000 messages/ms are sent).
   */
  counterStart?: number;
}

/** Body accepted by the signer and verifier: bytes, or a string sent as UTF-8. */
export type Body = Uint8Array | string | undefined;

/** Signs uplinks; see {@link createSigner}. */
export interface Signer {
  /** Headers to add to an HTTP request (`X-CCS-*`); the body must be sent byte for byte as signed. */
  signHttp(request: { method: string; path: string; body?: Body }): Record<string, string>;
  /** The MQTT payload: the JSON wrapper (`MessageEnvelope`) around `body`, to publish on `topic`. */
  signMessage(message: { topic: string; body?: Body }): string;
  /** The counter the next signature will use. */
  readonly nextCounter: number;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a body. */
export function bodyBytes(body: Body): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  return typeof body === "string" ? encoder.encode(body) : body;
}

/**
 * Create a signer for one (key, sender). Every signature takes the next counter value.
 *
 * @example
 * ```ts
 * import { createSigner } from "./signer.ts";
 * const signer = createSigner({ keyId: "k1", key: new Uint8Array(32), senderId: "car-1" });
 * const headers = signer.signHttp({ method: "POST", path: "/v1/telemetry", body: "{}" });
 * ```
 */
export function createSigner(options: SignerOptions): Signer {
  const { keyId, senderId } = options;
  const tagBits = options.tagBits ?? 128;
  const now = options.now ?? Date.now;
  if (!ID_PATTERN.test(keyId)) throw new PipelineError("security.key_id", `keyId must be 1-64 of A-Z a-z 0-9 . _ : -`);
  if (!ID_PATTERN.test(senderId)) {
    throw new PipelineError("security.sender_id", `senderId must be 1-64 of A-Z a-z 0-9 . _ : -`);
  }
  if (!Number.isInteger(tagBits) || tagBits < 32 || tagBits > 256 || tagBits % 8 !== 0) {
    throw new PipelineError("security.tag_bits", `tagBits must be a multiple of 8 from 32 to 256, got ${tagBits}`);
  }
  if (options.key.length < MIN_KEY_BYTES) {
    throw new PipelineError("security.key_too_short", `key has ${options.key.length} bytes; use at least 16`);
  }
  let counter = options.counterStart ?? Math.floor(now()) * 1000;
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new PipelineError("security.counter", `counterStart must be a safe integer >= 0, got ${counter}`);
  }
  const crypto = WasmCrypto.createSync();
  const keyIndex = crypto.addKey(options.key);
  const tagBytes = tagBits / 8;

  const sign = (method: string, path: string, body: Uint8Array) => {
    const why = checkFields({ keyId, senderId, method, path });
    if (why) throw new PipelineError("security.envelope", `cannot sign: ${why}`);
    if (!Number.isSafeInteger(counter)) throw new PipelineError("security.counter", "counter exhausted; rotate keys");
    const timestamp = Math.floor(now());
    const c = counter++;
    const canonical = canonicalPrefix({ keyId, senderId, method, path, counter: c, timestamp }) +
      toHex(crypto.sha256(body));
    const tag = toHex(crypto.hmacWithKey(keyIndex, encoder.encode(canonical)).subarray(0, tagBytes));
    return { counter: c, timestamp, tag };
  };

  return {
    signHttp({ method, path, body }) {
      const s = sign(method.toUpperCase(), path, bodyBytes(body));
      return {
        [HEADER_KEY_ID]: keyId,
        [HEADER_SENDER]: senderId,
        [HEADER_COUNTER]: String(s.counter),
        [HEADER_TIMESTAMP]: String(s.timestamp),
        [HEADER_SIGNATURE]: s.tag,
      };
    },
    signMessage({ topic, body }) {
      const bytes = bodyBytes(body);
      const s = sign(MQTT_METHOD, topic, bytes);
      const env: MessageEnvelope = {
        v: MQTT_VERSION,
        keyId,
        sender: senderId,
        counter: s.counter,
        timestamp: s.timestamp,
        signature: s.tag,
        body: toBase64(bytes),
      };
      return JSON.stringify(env);
    },
    get nextCounter() {
      return counter;
    },
  };
}
