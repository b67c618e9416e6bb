/**
 * Message authentication for every uplink (HTTP to the CESC, MQTT): the signed envelope,
 * the key store, and the freshness policy (tag, timestamp drift, replay window) run in WASM.
 *
 * ## The envelope (version 1)
 *
 * Every signed uplink carries: key id, sender id, a monotonic counter, a timestamp (ms since the
 * Unix epoch) and a truncated HMAC-SHA256 tag over the **canonical string**, which is these eight
 * lines joined by `\n` (LF, no trailing newline), encoded as UTF-8:
 *
 * ```text
 * CCS-HMAC-SHA256
 * <key id>            1-64 of A-Z a-z 0-9 . _ : -
 * <sender id>         same alphabet (e.g. the vehicle id)
 * <method>            upper-case HTTP method, or PUBLISH for MQTT
 * <path>              HTTP request target as sent (path and query, as `new URL(url).pathname + search`
 *                     gives it), or the MQTT topic
 * <counter>           decimal, no leading zeros, 0 … 2^53-1
 * <timestamp>         decimal ms since the Unix epoch
 * <body hash>         lowercase hex SHA-256 of the body bytes (of the empty string when there is no body)
 * ```
 *
 * The tag is the first `tagBits / 8` bytes of `HMAC-SHA256(key, canonical string)`, written as
 * lowercase hex. `tagBits` is 128 by default (32-256, a multiple of 8); sender and receiver must agree,
 * a tag of another length is rejected as `malformed`.
 *
 * **HTTP**: the five fields travel in headers, the body is sent unchanged:
 *
 * | header | value |
 * |---|---|
 * | `X-CCS-Key-Id` | key id |
 * | `X-CCS-Sender` | sender id |
 * | `X-CCS-Counter` | counter (decimal) |
 * | `X-CCS-Timestamp` | timestamp (decimal ms) |
 * | `X-CCS-Signature` | truncated tag (hex) |
 *
 * **MQTT**: the payload is a JSON wrapper and the canonical method is `PUBLISH`, the path the topic:
 * `{"v":1,"keyId":…,"sender":…,"counter":…,"timestamp":…,"signature":"<hex>","body":"<base64 of the body>"}`.
 *
 * ## Verification policy
 *
 * In this order, each with its own reason (and metrics counter):
 * 1. `missing_signature`: no `X-CCS-Signature` header / the payload is not a wrapper with a signature.
 * 2. `malformed`: other fields missing or not canonical (ids, decimals, hex of the wrong length, base64).
 * 3. `unknown_key`: the key id is not in the {@link KeyStore}.
 * 4. `bad_signature`: the tag does not match (compared in constant time, in WASM).
 * 5. `timestamp_drift`: |receiver time − timestamp| > `driftMs` (default 30 000).
 * 6. `replay`: the counter was already accepted for this (key id, sender), or is `replayWindow`
 *    (default 256) or more below the highest accepted counter (sliding bitmap window, RFC 4303 style).
 *
 * Only envelopes passing all checks are recorded in the replay window, so a forged or stale
 * envelope cannot burn a legitimate counter. Steps 4-6 run for a whole batch in one WASM call.
 * Metrics for the gateway topics ({@link gatewayCounts}): `security/auth_failures` = missing_signature +
 * malformed + unknown_key + bad_signature; `security/timestamp_drift` = timestamp_drift;
 * `security/policy_violations` = replay.
 *
 * Counters: a signer starts at `now() * 1000` by default so counters keep increasing across restarts
 * without stored state (pass `counterStart` to persist your own). Keys are never logged: the
 * {@link KeyStore} prints only key ids; files and `CCS_KEYS` hold `<keyId>=hex:<…>` or
 * `<keyId>=base64:<…>` entries (≥ 16 bytes, 32 random bytes recommended); several ids may be
 * active at once for rotation. Make a key with `echo "k2026-11=hex:$(openssl rand -hex 32)" >> keys`;
 * rotate by adding the new id on every receiver, switching senders to it, then removing the old id.
 *
 * ## CAN level: SecOC-style authenticated PDUs
 *
 * {@link createSecOcFilter} verifies declared CAN messages whose payload is
 * `authentic payload ‖ truncated freshness ‖ truncated MAC` before decoding (MAC = HMAC-SHA256 over
 * `data id (u16 BE) ‖ payload ‖ full freshness (u64 BE)`); frames that fail are dropped and counted,
 * never decoded. {@link createSecOcSender} builds such PDUs. Details in `secoc.ts`.
 *
 * ## Worked example (recompute it with openssl)
 *
 * Key id `k2026-11`, key = the 32 ASCII bytes `ccs-demo-key-do-not-use-32-bytes`
 * (`hex:6363732d64656d6f2d6b65792d646f2d6e6f742d7573652d33322d6279746573`), sender `car-0001`,
 * `POST /v1/telemetry`, counter `1763900000000000`, timestamp `1763900000000`,
 * body `{"Vehicle.Speed":42.5}`:
 *
 * ```sh
 * KEY='ccs-demo-key-do-not-use-32-bytes'
 * H=$(printf '%s' '{"Vehicle.Speed":42.5}' | openssl dgst -sha256 -r | cut -d' ' -f1)
 * # H = 4d36c6ee403b21e218862d0d49cfde752952df52ae3f0d7a4764c2175f7078bc
 * printf 'CCS-HMAC-SHA256\nk2026-11\ncar-0001\nPOST\n/v1/telemetry\n1763900000000000\n1763900000000\n%s' "$H" \
 *   | openssl dgst -sha256 -hmac "$KEY"
 * # c26ffa02a3c0c6ce14731eee18b7f178150f9bd6ab669d0d99a0c0c18599ae2f
 * # (a binary key: -mac HMAC -macopt hexkey:6363732d…)
 * ```
 *
 * The 128-bit tag is the first 32 hex digits, so the request carries
 * `X-CCS-Key-Id: k2026-11`, `X-CCS-Sender: car-0001`, `X-CCS-Counter: 1763900000000000`,
 * `X-CCS-Timestamp: 1763900000000`, `X-CCS-Signature: c26ffa02a3c0c6ce14731eee18b7f178`.
 * (`security_test.ts` checks these numbers; `deno task sign --keys FILE --key-id k2026-11 --sender car-0001
 * --counter 1763900000000000 --timestamp 1763900000000 --path /v1/telemetry --body '{"Vehicle.Speed":42.5}'`
 * prints the same headers, and `--format curl` prints them as curl arguments.)
 *
 * @example
 * ```ts
 * import { createSigner, createVerifier, KeyStore } from "./mod.ts";
 * const keys = KeyStore.parse("k1=hex:" + "2a".repeat(32));
 * const signer = createSigner({ keyId: "k1", key: keys.get("k1")!, senderId: "car-1" });
 * const verifier = createVerifier({ keys });
 * const body = JSON.stringify({ "Vehicle.Speed": 42.5 });
 * const headers = signer.signHttp({ method: "POST", path: "/v1/telemetry", body });
 * const result = verifier.verifyHttp({ method: "POST", path: "/v1/telemetry", headers, body });
 * if (!result.ok) throw new Error(`${result.reason}: ${result.message}`);
 * ```
 * @module
 */
export {
  type CanonicalFields,
  canonicalPrefix,
  HEADER_COUNTER,
  HEADER_KEY_ID,
  HEADER_SENDER,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  type MessageEnvelope,
  MQTT_METHOD,
  SCHEME,
} from "./envelope.ts";
export { decodeKey, KeyStore, MIN_KEY_BYTES } from "./keystore.ts";
export { type Body, createSigner, type Signer, type SignerOptions } from "./signer.ts";
export {
  type Accepted,
  createVerifier,
  gatewayCounts,
  type GatewaySecurityCounts,
  type HeadersLike,
  type HttpRequestInput,
  type MessageInput,
  type MessageVerifyResult,
  REJECT_REASONS,
  type Rejected,
  type RejectReason,
  type SecurityMetrics,
  type Verifier,
  type VerifierOptions,
  type VerifyResult,
} from "./verifier.ts";
export {
  createSecOcFilter,
  createSecOcSender,
  type SecOcFilter,
  type SecOcMessage,
  type SecOcMetrics,
  type SecOcOptions,
} from "./secoc.ts";
export * from "./wasm_crypto.ts";
