/**
 * The receiving side of the envelope: parses headers / MQTT wrappers, then runs the policy
 * (tag, timestamp drift, replay window) for whole batches in one WASM call.
 * @module
 */
import { PipelineError } from "../errors/mod.ts";
import {
  type EnvelopeInput,
  VERDICT_BAD_SIGNATURE,
  VERDICT_OK,
  VERDICT_REPLAY,
  VERDICT_TIMESTAMP_DRIFT,
  WasmCrypto,
} from "./wasm_crypto.ts";
import {
  canonicalPrefix,
  checkFields,
  fromBase64,
  fromHex,
  HEADER_COUNTER,
  HEADER_KEY_ID,
  HEADER_SENDER,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  MQTT_METHOD,
  MQTT_VERSION,
  parseDecimal,
} from "./envelope.ts";
import type { KeyStore } from "./keystore.ts";
import type { Body } from "./signer.ts";

/** Why an envelope was rejected. */
export type RejectReason =
  | "missing_signature"
  | "unknown_key"
  | "bad_signature"
  | "timestamp_drift"
  | "replay"
  | "malformed";

/** Every reject reason, in a stable order. */
export const REJECT_REASONS: readonly RejectReason[] = [
  "missing_signature",
  "unknown_key",
  "bad_signature",
  "timestamp_drift",
  "replay",
  "malformed",
];

/** An accepted envelope. */
export interface Accepted {
  /** Accepted. */
  ok: true;
  /** Authenticated sender id. */
  senderId: string;
  /** Key id that verified it. */
  keyId: string;
  /** Sender counter. */
  counter: number;
  /** Sender timestamp, ms since the Unix epoch. */
  timestamp: number;
}

/** A rejected envelope. */
export interface Rejected {
  /** Rejected. */
  ok: false;
  /** Machine-readable reason (a metrics key). */
  reason: RejectReason;
  /** One line for logs / HTTP error bodies (never contains key material). */
  message: string;
}

/** Result of {@link Verifier.verifyHttp}. */
export type VerifyResult = Accepted | Rejected;
/** Result of {@link Verifier.verifyMessage}: on success also the unwrapped body. */
export type MessageVerifyResult = (Accepted & { body: Uint8Array }) | Rejected;

/** Header access: a `Headers` object or a plain record (any header-name case). */
export type HeadersLike = Headers | Record<string, string | string[] | undefined>;

/** An HTTP request to verify. */
export interface HttpRequestInput {
  /** HTTP method. */
  method: string;
  /** Request target as sent: path and query. */
  path: string;
  /** The request headers. */
  headers: HeadersLike;
  /** The raw body bytes (or the exact string). */
  body?: Body;
}

/** An MQTT message to verify. */
export interface MessageInput {
  /** Topic it arrived on. */
  topic: string;
  /** The payload (the JSON wrapper), bytes or string. */
  payload: Uint8Array | string;
}

/** Counters per outcome since the verifier was created. */
export interface SecurityMetrics {
  /** Accepted envelopes. */
  accepted: number;
  /** No signature at all. */
  missing_signature: number;
  /** Key id not in the key store. */
  unknown_key: number;
  /** Tag mismatch. */
  bad_signature: number;
  /** Timestamp outside the drift window. */
  timestamp_drift: number;
  /** Counter reused or older than the replay window. */
  replay: number;
  /** Unparseable envelope fields. */
  malformed: number;
}

/** The gateway's security topics and their counts, from {@link SecurityMetrics}. */
export interface GatewaySecurityCounts {
  /** missing_signature + malformed + unknown_key + bad_signature. */
  "security/auth_failures": number;
  /** timestamp_drift. */
  "security/timestamp_drift": number;
  /** replay. */
  "security/policy_violations": number;
}

/** Fold verifier metrics into the gateway's `security/*` topic counts. */
export function gatewayCounts(m: SecurityMetrics): GatewaySecurityCounts {
  return {
    "security/auth_failures": m.missing_signature + m.malformed + m.unknown_key + m.bad_signature,
    "security/timestamp_drift": m.timestamp_drift,
    "security/policy_violations": m.replay,
  };
}

/** Options of {@link createVerifier}. */
export interface VerifierOptions {
  /** Keys by id; read on each lookup, so keys added later (rotation) are picked up. */
  keys: KeyStore;
  /** Largest accepted |receiver time − sender timestamp| in ms (default 30000). */
  driftMs?: number;
  /** Replay window per (keyId, sender) in counters, a multiple of 64 from 64 to 1024 (default 256). */
  replayWindow?: number;
  /** Tag length in bits, a multiple of 8 from 32 to 256 (default 128); tags of another length are malformed. */
  tagBits?: number;
  /** Clock, ms since the Unix epoch (default `Date.now`). */
  now?: () => number;
}

/** Verifies envelopes; see {@link createVerifier}. */
export interface Verifier {
  /** Verify one HTTP request. */
  verifyHttp(request: HttpRequestInput): VerifyResult;
  /**
   * Verify a fetch-API `Request` (as `Deno.serve` and Hono hand them over): reads the body, takes the
   * path as `pathname + search` of `request.url`. Fits the CESC's verification hook directly:
   * `verify: (req) => verifier.verifyRequest(req)`.
   */
  verifyRequest(request: Request): Promise<VerifyResult>;
  /** Verify many HTTP requests with one WASM call (results in input order). */
  verifyHttpBatch(requests: readonly HttpRequestInput[]): VerifyResult[];
  /** Verify one MQTT message (the JSON wrapper). */
  verifyMessage(message: MessageInput): MessageVerifyResult;
  /** Verify many MQTT messages with one WASM call (results in input order). */
  verifyMessageBatch(messages: readonly MessageInput[]): MessageVerifyResult[];
  /** A copy of the counters per outcome. */
  metrics(): SecurityMetrics;
  /** Number of (key id, sender) replay windows held (only senders that authenticated get one). */
  replayWindows(): number;
}

interface Parsed {
  keyId: string;
  senderId: string;
  method: string;
  path: string;
  counter: number;
  timestamp: number;
  tag: string;
  body: Uint8Array | string;
}

function header(headers: HeadersLike, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const rec = headers as Record<string, string | string[] | undefined>;
  let v = rec[name] ?? rec[name.toLowerCase()];
  if (v === undefined) {
    const lower = name.toLowerCase();
    for (const k in rec) if (k.toLowerCase() === lower) v = rec[k];
  }
  return Array.isArray(v) ? v.join(", ") : v;
}

const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/**
 * Create a verifier. Its replay windows live in its own WASM instance: use one verifier per
 * receiving service so every (keyId, sender) has exactly one window.
 *
 * @example
 * ```ts
 * import { createVerifier } from "./verifier.ts";
 * import { KeyStore } from "./keystore.ts";
 * const verifier = createVerifier({ keys: KeyStore.parse("k1=hex:" + "00".repeat(32)) });
 * const r = verifier.verifyHttp({ method: "POST", path: "/v1/telemetry", headers: {}, body: "{}" });
 * if (!r.ok) console.log(r.reason); // "missing_signature"
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const keys = options.keys;
  const driftMs = options.driftMs ?? 30_000;
  const tagBits = options.tagBits ?? 128;
  const now = options.now ?? Date.now;
  if (!(driftMs >= 0 && Number.isFinite(driftMs))) {
    throw new PipelineError("security.drift", `driftMs must be a finite number >= 0, got ${driftMs}`);
  }
  if (!Number.isInteger(tagBits) || tagBits < 32 || tagBits > 256 || tagBits % 8 !== 0) {
    throw new PipelineError("security.tag_bits", `tagBits must be a multiple of 8 from 32 to 256, got ${tagBits}`);
  }
  const tagBytes = tagBits / 8;
  const crypto = WasmCrypto.createSync({ replayWindow: options.replayWindow ?? 256 });
  const window = crypto.replayWindow;
  const keyIndex = new Map<string, { key: Uint8Array; index: number }>();
  const m: SecurityMetrics = {
    accepted: 0,
    missing_signature: 0,
    unknown_key: 0,
    bad_signature: 0,
    timestamp_drift: 0,
    replay: 0,
    malformed: 0,
  };

  const reject = (reason: RejectReason, message: string): Rejected => {
    m[reason]++;
    return { ok: false, reason, message };
  };

  const indexOf = (keyId: string): number | undefined => {
    const key = keys.get(keyId);
    if (!key) return undefined;
    const c = keyIndex.get(keyId);
    if (c && c.key === key) return c.index;
    const index = crypto.addKey(key);
    keyIndex.set(keyId, { key, index });
    return index;
  };

  const parseHttp = (r: HttpRequestInput): Parsed | Rejected => {
    const sig = header(r.headers, HEADER_SIGNATURE);
    if (sig === undefined || sig === "") {
      return reject("missing_signature", `no ${HEADER_SIGNATURE} header; sign uplinks with core/security createSigner`);
    }
    const keyId = header(r.headers, HEADER_KEY_ID);
    const senderId = header(r.headers, HEADER_SENDER);
    const counter = parseDecimal(header(r.headers, HEADER_COUNTER));
    const timestamp = parseDecimal(header(r.headers, HEADER_TIMESTAMP));
    if (keyId === undefined || senderId === undefined || counter === undefined || timestamp === undefined) {
      return reject(
        "malformed",
        `${HEADER_KEY_ID}, ${HEADER_SENDER}, ${HEADER_COUNTER} and ${HEADER_TIMESTAMP} (decimal) are all required`,
      );
    }
    const body = r.body ?? EMPTY;
    if (typeof body !== "string" && !(body instanceof Uint8Array)) {
      return reject("malformed", "body must be bytes or a string");
    }
    return { keyId, senderId, method: r.method.toUpperCase(), path: r.path, counter, timestamp, tag: sig, body };
  };

  const parseMessage = (msg: MessageInput): Parsed | Rejected => {
    let env: Record<string, unknown>;
    try {
      const text = typeof msg.payload === "string" ? msg.payload : decoder.decode(msg.payload);
      env = JSON.parse(text);
    } catch {
      return reject("missing_signature", "payload is not a signed envelope (JSON wrapper expected)");
    }
    if (env === null || typeof env !== "object" || Array.isArray(env)) {
      return reject("missing_signature", "payload is not a signed envelope (JSON object expected)");
    }
    if (env.signature === undefined) return reject("missing_signature", "envelope has no signature field");
    const { v, keyId, sender, counter, timestamp, signature, body } = env;
    if (v !== MQTT_VERSION) return reject("malformed", `envelope version must be ${MQTT_VERSION}`);
    if (
      typeof keyId !== "string" || typeof sender !== "string" || typeof signature !== "string" ||
      typeof body !== "string" || !Number.isSafeInteger(counter) || (counter as number) < 0 ||
      !Number.isSafeInteger(timestamp) || (timestamp as number) < 0
    ) {
      return reject("malformed", "envelope needs string keyId, sender, signature, body and integer counter, timestamp");
    }
    const bytes = fromBase64(body);
    if (!bytes) return reject("malformed", "envelope body is not base64");
    return {
      keyId,
      senderId: sender,
      method: MQTT_METHOD,
      path: msg.topic,
      counter: counter as number,
      timestamp: timestamp as number,
      tag: signature,
      body: bytes,
    };
  };

  const run = (parsed: (Parsed | Rejected)[]): (Accepted | Rejected)[] => {
    const results: (Accepted | Rejected)[] = new Array(parsed.length);
    const items: EnvelopeInput[] = [];
    const at: number[] = [];
    const pending = new Map<string, { keyId: string; senderId: string; slot: number; ok: boolean }>();
    for (let i = 0; i < parsed.length; i++) {
      const p = parsed[i];
      if ("ok" in p) {
        results[i] = p;
        continue;
      }
      const why = checkFields(p);
      if (why) {
        results[i] = reject("malformed", why);
        continue;
      }
      const tag = fromHex(p.tag, tagBytes);
      if (!tag) {
        results[i] = reject("malformed", `signature must be ${tagBytes * 2} hex digits (${tagBits}-bit tag)`);
        continue;
      }
      const k = indexOf(p.keyId);
      if (k === undefined) {
        results[i] = reject("unknown_key", `key id ${p.keyId} is not in the key store`);
        continue;
      }
      // Replay state is only kept for senders that authenticate: a new (key, sender) pair gets a
      // temporary slot, bound for good below only if one of its envelopes is accepted.
      let slot = crypto.findReplaySlot(p.keyId, p.senderId);
      if (slot === undefined) {
        const name = `${p.keyId}\u0000${p.senderId}`;
        let t = pending.get(name);
        if (!t) {
          pending.set(name, t = { keyId: p.keyId, senderId: p.senderId, slot: crypto.acquireReplaySlot(), ok: false });
        }
        slot = t.slot;
      }
      items.push({
        keyIndex: k,
        replaySlot: slot,
        prefix: canonicalPrefix(p),
        body: p.body,
        tag,
        counter: p.counter,
        timestamp: p.timestamp,
      });
      at.push(i);
    }
    if (items.length === 0) return results;
    const nowMs = now();
    const verdicts = crypto.verifyEnvelopes(items, { tagBits, nowMs, driftMs });
    if (pending.size > 0) {
      const accepted = new Set<number>();
      for (let j = 0; j < items.length; j++) if (verdicts[j] === VERDICT_OK) accepted.add(items[j].replaySlot);
      for (const t of pending.values()) {
        if (accepted.has(t.slot)) crypto.bindReplaySlot(t.keyId, t.senderId, t.slot);
        else crypto.releaseReplaySlot(t.slot);
      }
    }
    for (let j = 0; j < items.length; j++) {
      const p = parsed[at[j]] as Parsed;
      switch (verdicts[j]) {
        case VERDICT_OK:
          m.accepted++;
          results[at[j]] = {
            ok: true,
            senderId: p.senderId,
            keyId: p.keyId,
            counter: p.counter,
            timestamp: p.timestamp,
          };
          break;
        case VERDICT_BAD_SIGNATURE:
          results[at[j]] = reject(
            "bad_signature",
            `signature does not match (wrong key, or method, path, ${HEADER_COUNTER}, ${HEADER_TIMESTAMP} or body changed)`,
          );
          break;
        case VERDICT_TIMESTAMP_DRIFT:
          results[at[j]] = reject(
            "timestamp_drift",
            `timestamp ${p.timestamp} is ${
              Math.round(p.timestamp - nowMs)
            } ms from receiver time; allowed ±${driftMs} ms`,
          );
          break;
        case VERDICT_REPLAY:
          results[at[j]] = reject(
            "replay",
            `counter ${p.counter} from ${p.senderId} was already used or is older than the ${window}-counter window`,
          );
          break;
        default:
          throw new PipelineError("security.verdict", `unexpected WASM verdict ${verdicts[j]}`);
      }
    }
    return results;
  };

  const withBody = (parsed: (Parsed | Rejected)[]): MessageVerifyResult[] =>
    run(parsed).map((r, i) => r.ok ? { ...r, body: (parsed[i] as Parsed).body as Uint8Array } : r);

  return {
    verifyHttp: (request) => run([parseHttp(request)])[0],
    verifyHttpBatch: (requests) => run(requests.map(parseHttp)),
    verifyRequest: async (request) => {
      const url = new URL(request.url);
      const body = new Uint8Array(await request.arrayBuffer());
      return run([
        parseHttp({ method: request.method, path: url.pathname + url.search, headers: request.headers, body }),
      ])[0];
    },
    verifyMessage: (message) => withBody([parseMessage(message)])[0],
    verifyMessageBatch: (messages) => withBody(messages.map(parseMessage)),
    metrics: () => ({ ...m }),
    replayWindows: () => crypto.boundReplaySlots,
  };
}
