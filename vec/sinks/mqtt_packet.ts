/**
 * Batched QoS 0 PUBLISH writer: encodes packets (MQTT 3.1.1 or 5) straight into one buffer per task and
 * hands the socket a single chunk, instead of mqtt.js's several writes and objects per packet.
 * @module
 */
import { utf8Length } from "../../core/queue/mod.ts";

const CHUNK = 64 * 1024;

function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

function writeVarint(buf: Uint8Array, off: number, n: number): number {
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    buf[off++] = b;
  } while (n > 0);
  return off;
}

/** UTF-8 encode `s` into `buf` at `off` without allocating (lone surrogates become U+FFFD, as TextEncoder). */
function writeUtf8(buf: Uint8Array, off: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[off++] = c;
      continue;
    }
    if (c < 0x800) {
      buf[off++] = 0xc0 | (c >> 6);
      buf[off++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        buf[off++] = 0xf0 | (cp >> 18);
        buf[off++] = 0x80 | ((cp >> 12) & 0x3f);
        buf[off++] = 0x80 | ((cp >> 6) & 0x3f);
        buf[off++] = 0x80 | (cp & 0x3f);
        continue;
      }
      c = 0xfffd;
    }
    buf[off++] = 0xe0 | (c >> 12);
    buf[off++] = 0x80 | ((c >> 6) & 0x3f);
    buf[off++] = 0x80 | (c & 0x3f);
  }
  return off;
}

/** Writes QoS 0 PUBLISH packets in batches. */
export class Qos0Writer {
  readonly #enc = new TextEncoder();
  readonly #version: 4 | 5;
  readonly #contentType?: string;
  readonly #prefixes = new Map<string, Uint8Array>();
  readonly #sink: (chunk: Uint8Array, packets: number) => void;
  #buf = new Uint8Array(CHUNK);
  #off = 0;
  #packets = 0;
  #scheduled = false;
  readonly #flushTask = () => {
    this.#scheduled = false;
    this.flush();
  };

  /**
   * @param sink receives each finished chunk and how many packets it holds
   * @param options protocol version and the MQTT 5 content type property
   */
  constructor(sink: (chunk: Uint8Array, packets: number) => void, options: { version: 4 | 5; contentType?: string }) {
    this.#sink = sink;
    this.#version = options.version;
    this.#contentType = options.contentType;
  }

  /** Bytes encoded and not yet handed to the socket. */
  get pendingBytes(): number {
    return this.#off;
  }

  /** Topic name and (MQTT 5) properties of a topic, cached. */
  #prefix(topic: string): Uint8Array {
    let p = this.#prefixes.get(topic);
    if (!p) {
      const t = this.#enc.encode(topic);
      const parts: number[] = [t.length >> 8, t.length & 0xff, ...t];
      if (this.#version === 5) {
        const props: number[] = [];
        if (this.#contentType) {
          const ct = this.#enc.encode(this.#contentType);
          props.push(0x03, ct.length >> 8, ct.length & 0xff, ...ct);
        }
        const len = new Uint8Array(4);
        const n = writeVarint(len, 0, props.length);
        parts.push(...len.subarray(0, n), ...props);
      }
      p = Uint8Array.from(parts);
      this.#prefixes.set(topic, p);
    }
    return p;
  }

  /**
   * Append one PUBLISH packet (QoS 0); the batch is handed over at the end of the current task.
   *
   * @param topic full topic
   * @param body payload
   * @param retain retain flag
   */
  append(topic: string, body: Uint8Array | string, retain: boolean): void {
    const prefix = this.#prefix(topic);
    const bodyLen = typeof body === "string" ? utf8Length(body) : body.length;
    const remaining = prefix.length + bodyLen;
    const need = 1 + varintSize(remaining) + remaining;
    if (this.#off + need > this.#buf.length) {
      this.flush();
      if (need > this.#buf.length) this.#buf = new Uint8Array(need);
    }
    const buf = this.#buf;
    let off = this.#off;
    buf[off++] = retain ? 0x31 : 0x30;
    off = writeVarint(buf, off, remaining);
    buf.set(prefix, off);
    off += prefix.length;
    if (typeof body === "string") off = writeUtf8(buf, off, body);
    else {
      buf.set(body, off);
      off += body.length;
    }
    this.#off = off;
    this.#packets++;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushTask);
    }
  }

  /** Hand the current batch to the socket now. */
  flush(): void {
    if (this.#off === 0) return;
    const chunk = this.#buf.subarray(0, this.#off);
    const packets = this.#packets;
    // the socket keeps `chunk` until written: continue in a fresh buffer
    this.#buf = new Uint8Array(CHUNK);
    this.#off = 0;
    this.#packets = 0;
    this.#sink(chunk, packets);
  }

  /** Drop the current batch (connection lost); returns how many packets were dropped. */
  discard(): number {
    const n = this.#packets;
    this.#off = 0;
    this.#packets = 0;
    return n;
  }
}
