/**
 * SecOC-style authenticated CAN PDUs, verified before decoding.
 *
 * A secured message's frame payload is `authentic payload ‖ truncated freshness ‖ truncated MAC`
 * (sizes fixed per message in config). The MAC is HMAC-SHA256 over
 * `data id (u16 big-endian) ‖ authentic payload ‖ full freshness value (u64 big-endian)`, truncated to
 * `macBits`. The receiver keeps the last accepted freshness value per message and reconstructs the full
 * value from the truncated one as the smallest value above it with those low bits (AUTOSAR-style);
 * a frame is accepted only when its MAC verifies with that value, so replayed or forged frames fail.
 * Frames that fail are dropped and counted, never decoded; accepted frames keep only the authentic
 * payload (their length is cut to `payloadLength`). Frames of messages not declared pass through
 * unchanged (or are dropped with `unsecured: "drop"`).
 *
 * Limitation: after a receiver restart the freshness state starts at 0 (use `setFreshness` to
 * synchronise it from a trusted source when truncated freshness has wrapped since).
 * @module
 */
import { PipelineError } from "../errors/mod.ts";
import {
  CAN_EFF_FLAG,
  CAN_ERR_FLAG,
  CAN_RTR_FLAG,
  FRAME_OFF_DATA,
  FRAME_OFF_ID,
  FRAME_OFF_LEN,
  FRAME_RECORD_SIZE,
} from "../can/mod.ts";
import type { FrameBatch } from "../can/mod.ts";
import { WasmCrypto } from "./wasm_crypto.ts";
import type { KeyStore } from "./keystore.ts";

/** One secured message, declared in config. */
export interface SecOcMessage {
  /** CAN identifier (11-bit, or 29-bit with `extended`). */
  id: number;
  /** 29-bit identifier. */
  extended?: boolean;
  /** Key id in the {@link KeyStore}. */
  keyId: string;
  /** SecOC data id (u16) bound into the MAC (default: the low 16 bits of the CAN id). */
  dataId?: number;
  /** Bytes of authentic payload at the start of the frame. */
  payloadLength: number;
  /** Truncated freshness bits carried in the frame: 8, 16, 24, 32, 40 or 48 (48 = the full value). */
  freshnessBits: number;
  /** Truncated MAC bits carried in the frame: a multiple of 8 from 32 to 256. */
  macBits: number;
}

/** Options of {@link createSecOcFilter}. */
export interface SecOcOptions {
  /** Keys by id. */
  keys: KeyStore;
  /** The secured messages. */
  messages: readonly SecOcMessage[];
  /** What to do with frames of undeclared messages (default "pass"). */
  unsecured?: "pass" | "drop";
}

/** Counters of {@link SecOcFilter.metrics}. */
export interface SecOcMetrics {
  /** Secured frames whose MAC and freshness verified (kept, trailer stripped). */
  accepted: number;
  /** Secured frames whose MAC did not verify (dropped): forged, replayed, or freshness out of sync. */
  bad_mac: number;
  /** Secured frames with a full (48-bit) freshness not above the last accepted one (dropped). */
  stale_freshness: number;
  /** Secured frames of the wrong length (dropped). */
  bad_length: number;
  /** Frames of undeclared messages passed through. */
  unsecured_passed: number;
  /** Frames of undeclared messages dropped (`unsecured: "drop"`). */
  unsecured_dropped: number;
}

/** Verifies secured frames in a {@link FrameBatch}; see {@link createSecOcFilter}. */
export interface SecOcFilter {
  /**
   * Verify every secured frame of `batch` (MACs in WASM, batched per message), drop failures,
   * strip the freshness and MAC from accepted ones, and compact the batch in place.
   * Returns the number of frames kept (also `batch.count`).
   */
  filter(batch: FrameBatch): number;
  /** Set the last accepted freshness value of a message (synchronisation). */
  setFreshness(id: number, value: number, options?: { extended?: boolean }): void;
  /** A copy of the counters. */
  metrics(): SecOcMetrics;
}

interface Msg {
  cfg: SecOcMessage;
  keyIndex: number;
  dataId: number;
  freshBytes: number;
  macBytes: number;
  frameLength: number;
  mod: number;
  last: number;
  /** Frames of this message in the current batch: record index, candidate freshness. */
  frames: number[];
  cands: number[];
}

const MAX_FRESH = 2 ** 48;

/** The full freshness value for truncated `trunc` after `last` (-1: none accepted yet). */
function candidate(last: number, trunc: number, mod: number): number {
  if (mod === MAX_FRESH || last < 0) return trunc;
  const c = last - (last % mod) + trunc;
  return c <= last ? c + mod : c;
}

/** Write the MAC input `dataId ‖ payload ‖ freshness (u64 BE)` at `out[o]`; returns its length. */
function macInput(out: Uint8Array, o: number, dataId: number, payload: Uint8Array, freshness: number): number {
  out[o] = dataId >> 8;
  out[o + 1] = dataId & 255;
  out.set(payload, o + 2);
  let p = o + 2 + payload.length;
  const hi = Math.floor(freshness / 2 ** 32), lo = freshness >>> 0;
  out[p++] = hi >>> 24;
  out[p++] = (hi >>> 16) & 255;
  out[p++] = (hi >>> 8) & 255;
  out[p++] = hi & 255;
  out[p++] = lo >>> 24;
  out[p++] = (lo >>> 16) & 255;
  out[p++] = (lo >>> 8) & 255;
  out[p++] = lo & 255;
  return p - o;
}

function checkMessage(m: SecOcMessage, keys: KeyStore, where: string): void {
  const bad = (what: string) => {
    throw new PipelineError("security.secoc_config", `${where}: ${what}`, { path: where });
  };
  if (!Number.isInteger(m.id) || m.id < 0 || m.id > (m.extended ? 0x1fffffff : 0x7ff)) bad("id out of range");
  if (![8, 16, 24, 32, 40, 48].includes(m.freshnessBits)) bad("freshnessBits must be 8, 16, 24, 32, 40 or 48");
  if (!Number.isInteger(m.macBits) || m.macBits < 32 || m.macBits > 256 || m.macBits % 8 !== 0) {
    bad("macBits must be a multiple of 8 from 32 to 256");
  }
  const total = m.payloadLength + m.freshnessBits / 8 + m.macBits / 8;
  if (!Number.isInteger(m.payloadLength) || m.payloadLength < 0 || total > 64) {
    bad(`payloadLength + freshness + MAC must fit a 64-byte CAN FD frame (got ${total} bytes)`);
  }
  if (m.dataId !== undefined && !(Number.isInteger(m.dataId) && m.dataId >= 0 && m.dataId <= 0xffff)) {
    bad("dataId must be a u16");
  }
  if (!keys.has(m.keyId)) bad(`key id ${m.keyId} is not in the key store`);
}

const rawKey = (id: number, extended?: boolean) => (extended ? (id | CAN_EFF_FLAG) >>> 0 : id);

/**
 * Create a SecOC filter for the declared messages.
 *
 * @example
 * ```ts
 * import { createSecOcFilter, KeyStore } from "./mod.ts";
 * const keys = KeyStore.parse("ecu=hex:" + "11".repeat(16));
 * const secoc = createSecOcFilter({
 *   keys,
 *   messages: [{ id: 0x101, keyId: "ecu", payloadLength: 3, freshnessBits: 8, macBits: 32 }],
 * });
 * // secoc.filter(batch) before decoding batch
 * ```
 */
export function createSecOcFilter(options: SecOcOptions): SecOcFilter {
  const crypto = WasmCrypto.createSync();
  const byId = new Map<number, Msg>();
  const msgs: Msg[] = [];
  const keyIndex = new Map<string, number>();
  options.messages.forEach((cfg, i) => {
    checkMessage(cfg, options.keys, `messages[${i}]`);
    const raw = rawKey(cfg.id, cfg.extended);
    if (byId.has(raw)) {
      throw new PipelineError("security.secoc_config", `messages[${i}]: id 0x${cfg.id.toString(16)} declared twice`);
    }
    let k = keyIndex.get(cfg.keyId);
    if (k === undefined) keyIndex.set(cfg.keyId, k = crypto.addKey(options.keys.get(cfg.keyId)!));
    const m: Msg = {
      cfg,
      keyIndex: k,
      dataId: cfg.dataId ?? (cfg.id & 0xffff),
      freshBytes: cfg.freshnessBits / 8,
      macBytes: cfg.macBits / 8,
      frameLength: cfg.payloadLength + cfg.freshnessBits / 8 + cfg.macBits / 8,
      mod: 2 ** cfg.freshnessBits,
      last: -1,
      frames: [],
      cands: [],
    };
    byId.set(raw, m);
    msgs.push(m);
  });
  const drop = options.unsecured === "drop";
  const metrics: SecOcMetrics = {
    accepted: 0,
    bad_mac: 0,
    stale_freshness: 0,
    bad_length: 0,
    unsecured_passed: 0,
    unsecured_dropped: 0,
  };
  let scratch = new Uint8Array(4096);
  let tags = new Uint8Array(1024);
  let offsets = new Uint32Array(65);
  let verdict = new Uint8Array(64);
  // per record in the batch: 0 drop, 1 keep as is, 2 secured (decided later)
  let action = new Uint8Array(64);
  let macOk = new Uint8Array(64);

  const truncFresh = (bytes: Uint8Array, o: number, m: Msg): number => {
    let v = 0;
    for (let i = 0; i < m.freshBytes; i++) v = v * 256 + bytes[o + m.cfg.payloadLength + i];
    return v;
  };

  /** MAC-check frames `idx` of message m with freshness values `cands`; results into macOk[record]. */
  const verify = (batch: FrameBatch, m: Msg, idx: number[], cands: number[]) => {
    const n = idx.length;
    const per = 2 + m.cfg.payloadLength + 8;
    if (scratch.length < n * per) scratch = new Uint8Array(n * per * 2);
    if (tags.length < n * m.macBytes) tags = new Uint8Array(n * m.macBytes * 2);
    if (offsets.length < n + 1) offsets = new Uint32Array(2 * n + 1);
    if (verdict.length < n) verdict = new Uint8Array(2 * n);
    const b = batch.bytes;
    let o = 0;
    for (let j = 0; j < n; j++) {
      const rec = idx[j] * FRAME_RECORD_SIZE + FRAME_OFF_DATA;
      offsets[j] = o;
      o += macInput(scratch, o, m.dataId, b.subarray(rec, rec + m.cfg.payloadLength), cands[j]);
      const t = rec + m.cfg.payloadLength + m.freshBytes;
      tags.set(b.subarray(t, t + m.macBytes), j * m.macBytes);
    }
    offsets[n] = o;
    crypto.verifyBatch({
      keyIndex: m.keyIndex,
      data: scratch.subarray(0, o),
      offsets,
      tags,
      tagBits: m.cfg.macBits,
      count: n,
      out: verdict,
    });
    for (let j = 0; j < n; j++) macOk[idx[j]] = verdict[j];
  };

  return {
    filter(batch) {
      const count = batch.count;
      if (action.length < count) {
        action = new Uint8Array(count * 2);
        macOk = new Uint8Array(count * 2);
      }
      const b = batch.bytes;
      const v = batch.view;
      for (const m of msgs) {
        m.frames.length = 0;
        m.cands.length = 0;
      }
      // 1. classify; optimistic freshness candidates (as if every earlier frame is accepted)
      const opt = new Map<Msg, number>();
      for (let i = 0; i < count; i++) {
        const raw = v.getUint32(i * FRAME_RECORD_SIZE + FRAME_OFF_ID, true);
        const m = (raw & (CAN_RTR_FLAG | CAN_ERR_FLAG)) ? undefined : byId.get(raw);
        if (!m) {
          action[i] = drop ? 0 : 1;
          if (drop) metrics.unsecured_dropped++;
          else metrics.unsecured_passed++;
          continue;
        }
        if (b[i * FRAME_RECORD_SIZE + FRAME_OFF_LEN] !== m.frameLength) {
          action[i] = 0;
          metrics.bad_length++;
          continue;
        }
        action[i] = 2;
        const c = candidate(opt.get(m) ?? m.last, truncFresh(b, i * FRAME_RECORD_SIZE + FRAME_OFF_DATA, m), m.mod);
        opt.set(m, Math.max(c, opt.get(m) ?? m.last));
        m.frames.push(i);
        m.cands.push(c);
      }
      // 2. MACs in WASM, one batch per message
      for (const m of msgs) if (m.frames.length > 0) verify(batch, m, m.frames, m.cands);
      // 3. in order: freshness against the real state (re-verify when the optimistic guess was off)
      const pos = new Map<Msg, number>();
      let w = 0;
      for (let i = 0; i < count; i++) {
        let keep = action[i] === 1;
        if (action[i] === 2) {
          const raw = v.getUint32(i * FRAME_RECORD_SIZE + FRAME_OFF_ID, true);
          const m = byId.get(raw)!;
          const j = pos.get(m) ?? 0;
          pos.set(m, j + 1);
          const trunc = truncFresh(b, i * FRAME_RECORD_SIZE + FRAME_OFF_DATA, m);
          const c = candidate(m.last, trunc, m.mod);
          if (m.mod === MAX_FRESH && c <= m.last) {
            metrics.stale_freshness++;
          } else {
            if (c !== m.cands[j]) verify(batch, m, [i], [c]);
            if (macOk[i] === 1) {
              m.last = c;
              keep = true;
              metrics.accepted++;
              b[i * FRAME_RECORD_SIZE + FRAME_OFF_LEN] = m.cfg.payloadLength;
            } else {
              metrics.bad_mac++;
            }
          }
        }
        if (keep) {
          if (w !== i) b.copyWithin(w * FRAME_RECORD_SIZE, i * FRAME_RECORD_SIZE, (i + 1) * FRAME_RECORD_SIZE);
          w++;
        }
      }
      batch.count = w;
      return w;
    },
    setFreshness(id, value, opts = {}) {
      const m = byId.get(rawKey(id, opts.extended));
      if (!m) throw new PipelineError("security.secoc_unknown", `message 0x${id.toString(16)} is not declared`);
      if (!Number.isSafeInteger(value) || value < 0 || value >= MAX_FRESH) {
        throw new PipelineError("security.secoc_freshness", `freshness must be an integer in 0..2^48-1`);
      }
      m.last = value;
    },
    metrics: () => ({ ...metrics }),
  };
}

/**
 * The sending side (for ECU simulators, tests and tools): builds secured payloads for one message.
 *
 * @example
 * ```ts
 * import { createSecOcSender } from "./secoc.ts";
 * const send = createSecOcSender({ id: 0x101, keyId: "ecu", payloadLength: 3, freshnessBits: 8, macBits: 32 }, {
 *   key: new Uint8Array(16).fill(0x11),
 * });
 * const data = send.protect(new Uint8Array([1, 2, 3])); // 3 + 1 + 4 bytes
 * ```
 */
export function createSecOcSender(
  message: SecOcMessage,
  options: { key: Uint8Array; freshnessStart?: number },
): { protect(payload: Uint8Array): Uint8Array; readonly freshness: number } {
  const crypto = WasmCrypto.createSync();
  const k = crypto.addKey(options.key);
  const dataId = message.dataId ?? (message.id & 0xffff);
  const freshBytes = message.freshnessBits / 8, macBytes = message.macBits / 8;
  let freshness = options.freshnessStart ?? 1;
  return {
    protect(payload) {
      if (payload.length !== message.payloadLength) {
        throw new PipelineError("security.secoc_payload", `payload must be ${message.payloadLength} bytes`);
      }
      const f = freshness++;
      const input = new Uint8Array(2 + payload.length + 8);
      macInput(input, 0, dataId, payload, f);
      const mac = crypto.hmacWithKey(k, input);
      const out = new Uint8Array(payload.length + freshBytes + macBytes);
      out.set(payload);
      for (let i = 0, x = f; i < freshBytes; i++, x = Math.floor(x / 256)) {
        out[payload.length + freshBytes - 1 - i] = x % 256;
      }
      out.set(mac.subarray(0, macBytes), payload.length + freshBytes);
      return out;
    },
    get freshness() {
      return freshness;
    },
  };
}
