/**
 * ISO 15765-2 (ISO-TP) over classic CAN: single (SF), first (FF), consecutive (CF) and flow-control (FC) frames,
 * block size and STmin, padding, N_As / N_Bs / N_Cr timeouts.
 * @module
 */
import { PipelineError } from "../errors/mod.ts";
import type { CanFrame } from "../can/mod.ts";

/** The CAN transport ISO-TP runs over: a SocketCAN socket, an in-memory bus, … */
export interface CanLink {
  /** Transmit one frame; resolves when the frame was handed to the bus. */
  send(frame: CanFrame): Promise<void>;
  /** Receive every frame seen on the bus; returns a function that removes the listener. */
  onFrame(cb: (frame: CanFrame) => void): () => void;
}

/** Transmit and receive identifiers of one ISO-TP connection. */
export interface IsoTpAddress {
  /** Identifier this side transmits on. */
  txId: number;
  /** Identifier this side listens on. */
  rxId: number;
  /** 29-bit identifiers. */
  extended: boolean;
}

/** OBD-II functional request ID, 11-bit. */
export const OBD_FUNCTIONAL_ID = 0x7df;
/** OBD-II functional request ID, 29-bit (`0x18DB33F1`). */
export const OBD_FUNCTIONAL_ID_29 = 0x18db33f1;
/** Tester address used in 29-bit OBD IDs. */
export const OBD_TESTER_ADDRESS = 0xf1;

/**
 * Physical OBD-II addressing as seen from the tester. 11-bit: ECU `n` (0-7) is request 0x7E0+n, response
 * 0x7E8+n. 29-bit: ECU address `n` (e.g. 0x10 engine, 0x18 transmission) is request 0x18DAnnF1, response
 * 0x18DAF1nn.
 */
export function obdAddress(ecu: number, options: { extended?: boolean } = {}): IsoTpAddress {
  if (options.extended) {
    if (!Number.isInteger(ecu) || ecu < 0 || ecu > 0xff) {
      throw new PipelineError("isotp.address", `29-bit ECU address must be 0x00-0xFF, got ${ecu}`);
    }
    return {
      txId: 0x18da0000 | (ecu << 8) | OBD_TESTER_ADDRESS,
      rxId: 0x18da0000 | (OBD_TESTER_ADDRESS << 8) | ecu,
      extended: true,
    };
  }
  if (!Number.isInteger(ecu) || ecu < 0 || ecu > 7) {
    throw new PipelineError("isotp.address", `11-bit OBD ECU number must be 0-7 (0x7E0-0x7E7), got ${ecu}`);
  }
  return { txId: 0x7e0 + ecu, rxId: 0x7e8 + ecu, extended: false };
}

/** The same connection from the ECU's side (tx and rx swapped). */
export function reverseAddress(a: IsoTpAddress): IsoTpAddress {
  return { txId: a.rxId, rxId: a.txId, extended: a.extended };
}

/** Timeouts in milliseconds (ISO 15765-2 defaults: 1000 each). */
export interface IsoTpTimeouts {
  /** Transmission of a frame by the link. */
  nAs?: number;
  /** Waiting for a flow-control frame after FF or a block. */
  nBs?: number;
  /** Waiting for the next consecutive frame. */
  nCr?: number;
}

/** Options of {@link IsoTpChannel}. */
export interface IsoTpOptions {
  /** Byte frames are padded with to 8 bytes; `false` sends minimal DLCs. Default 0xCC. */
  padding?: number | false;
  /** Block size announced in our flow-control frames (0 = no further FC). Default 0. */
  blockSize?: number;
  /** STmin announced in our flow-control frames, raw byte (0x00-0x7F ms, 0xF1-0xF9 100-900 µs). Default 0. */
  stMin?: number;
  /** Timeouts. */
  timeouts?: IsoTpTimeouts;
  /** Most FC WAIT frames accepted in a row before giving up (N_WFTmax). Default 10. */
  maxWait?: number;
  /** Largest message accepted (bytes, FF_DL). Default 4095. */
  maxLength?: number;
  /** Interface name put into sent frames. Default `isotp`. */
  iface?: string;
}

/** Options of one {@link IsoTpChannel.send}. */
export interface IsoTpSendOptions {
  /** Simulator hook: send the consecutive frame with this index (1-based) with a wrong sequence number. */
  corruptSequenceAt?: number;
}

interface Waiter {
  resolve(v: Uint8Array): void;
  reject(e: unknown): void;
  timer?: ReturnType<typeof setTimeout>;
}

interface FcWaiter {
  resolve(fc: { fs: number; bs: number; stMin: number }): void;
  reject(e: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Milliseconds for an STmin byte (reserved values count as 127 ms, as the standard says). */
export function stMinToMs(b: number): number {
  if (b <= 0x7f) return b;
  if (b >= 0xf1 && b <= 0xf9) return (b - 0xf0) / 10;
  return 0x7f;
}

function timeoutError(which: string, ms: number, detail: string, a: IsoTpAddress): PipelineError {
  return new PipelineError(
    "isotp.timeout",
    `ISO-TP ${which} timeout after ${ms} ms ${detail} (rx 0x${a.rxId.toString(16)}, tx 0x${
      a.txId.toString(16)
    }); check the ECU is powered and the IDs/bitrate are right`,
    { path: which },
  );
}

/**
 * One ISO-TP connection (a pair of CAN IDs) over a {@link CanLink}. Received messages queue until
 * {@link IsoTpChannel.receive} takes them; reception errors (bad sequence number, N_Cr timeout) are delivered
 * to `receive` as rejections.
 *
 * @example
 * ```ts
 * import { IsoTpChannel, MemoryCanBus, obdAddress } from "./mod.ts";
 * const link = new MemoryCanBus().link();
 * const ch = new IsoTpChannel(link, obdAddress(0));
 * await ch.send(new Uint8Array([0x09, 0x02]));
 * await ch.receive({ timeoutMs: 50 }).catch((e) => console.log(e.code)); // no ECU on this bus: a timeout
 * ch.close();
 * ```
 */
export class IsoTpChannel {
  /** The IDs used. */
  readonly address: IsoTpAddress;
  readonly #link: CanLink;
  readonly #pad: number | false;
  readonly #bs: number;
  readonly #stMin: number;
  readonly #nAs: number;
  readonly #nBs: number;
  readonly #nCr: number;
  readonly #maxWait: number;
  readonly #maxLength: number;
  readonly #iface: string;
  readonly #off: () => void;
  readonly #queue: (Uint8Array | PipelineError)[] = [];
  readonly #waiters: Waiter[] = [];
  #fcWaiter: FcWaiter | undefined;
  readonly #fcQueue: { fs: number; bs: number; stMin: number }[] = [];
  #sending = false;
  #rx: { buf: Uint8Array; got: number; sn: number; left: number } | undefined;
  #crTimer: ReturnType<typeof setTimeout> | undefined;
  #sleepTimer: { timer: ReturnType<typeof setTimeout>; resolve: () => void } | undefined;
  #closed = false;

  /**
   * Listen on `address.rxId` and transmit on `address.txId`.
   * @param link the CAN transport
   * @param address IDs this side transmits and listens on
   */
  constructor(link: CanLink, address: IsoTpAddress, options: IsoTpOptions = {}) {
    this.address = address;
    this.#link = link;
    this.#pad = options.padding === undefined ? 0xcc : options.padding;
    this.#bs = options.blockSize ?? 0;
    this.#stMin = options.stMin ?? 0;
    this.#nAs = options.timeouts?.nAs ?? 1000;
    this.#nBs = options.timeouts?.nBs ?? 1000;
    this.#nCr = options.timeouts?.nCr ?? 1000;
    this.#maxWait = options.maxWait ?? 10;
    this.#maxLength = options.maxLength ?? 4095;
    this.#iface = options.iface ?? "isotp";
    this.#off = link.onFrame((f) => {
      if (f.id === address.rxId && f.extended === address.extended && !f.rtr && !f.error) this.#onFrame(f.data);
    });
  }

  /** Drop received messages nobody has taken yet (e.g. a late answer to a timed-out request). */
  discardPending(): void {
    this.#queue.length = 0;
  }

  /**
   * Wait for the next complete message.
   * @throws PipelineError `isotp.timeout` (no message within `timeoutMs`), `isotp.sequence`, `isotp.closed`
   */
  receive(options: { timeoutMs?: number } = {}): Promise<Uint8Array> {
    const next = this.#queue.shift();
    if (next instanceof PipelineError) return Promise.reject(next);
    if (next) return Promise.resolve(next);
    if (this.#closed) return Promise.reject(new PipelineError("isotp.closed", "ISO-TP channel is closed"));
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject };
      if (options.timeoutMs !== undefined && Number.isFinite(options.timeoutMs)) {
        const ms = options.timeoutMs;
        w.timer = setTimeout(() => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(
            new PipelineError(
              "isotp.timeout",
              `no ISO-TP message on 0x${this.address.rxId.toString(16)} within ${ms} ms`,
              { path: "response" },
            ),
          );
        }, ms);
      }
      this.#waiters.push(w);
    });
  }

  #deliver(m: Uint8Array | PipelineError): void {
    const w = this.#waiters.shift();
    if (!w) {
      this.#queue.push(m);
      return;
    }
    if (w.timer !== undefined) clearTimeout(w.timer);
    if (m instanceof PipelineError) w.reject(m);
    else w.resolve(m);
  }

  #frame(bytes: number[] | Uint8Array, len: number): CanFrame {
    const size = this.#pad === false ? len : 8;
    const data = new Uint8Array(size);
    data.set(bytes.length > len ? (bytes as Uint8Array).subarray(0, len) : bytes);
    if (this.#pad !== false) data.fill(this.#pad, len);
    return {
      timestamp: Date.now() / 1000,
      iface: this.#iface,
      id: this.address.txId,
      extended: this.address.extended,
      rtr: false,
      error: false,
      fd: false,
      brs: false,
      esi: false,
      data,
    };
  }

  async #tx(frame: CanFrame): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.#link.send(frame),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(timeoutError("N_As", this.#nAs, "sending a frame", this.address)),
            this.#nAs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  #sendFc(fs: number): Promise<void> {
    return this.#tx(this.#frame([0x30 | fs, this.#bs, this.#stMin], 3));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#sleepTimer = undefined;
        resolve();
      }, ms);
      this.#sleepTimer = { timer, resolve };
    });
  }

  #waitFc(): Promise<{ fs: number; bs: number; stMin: number }> {
    const queued = this.#fcQueue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fcWaiter = undefined;
        reject(timeoutError("N_Bs", this.#nBs, "waiting for a flow-control frame", this.address));
      }, this.#nBs);
      this.#fcWaiter = { resolve, reject, timer };
    });
  }

  /**
   * Send one message (1-4095 bytes): a single frame, or a first frame followed by consecutive frames paced by the
   * receiver's flow control.
   * @throws PipelineError `isotp.timeout` (N_As / N_Bs), `isotp.overflow`, `isotp.length`, `isotp.closed`
   */
  async send(payload: Uint8Array, options: IsoTpSendOptions = {}): Promise<void> {
    if (this.#closed) throw new PipelineError("isotp.closed", "ISO-TP channel is closed");
    const len = payload.length;
    if (len < 1 || len > 4095) {
      throw new PipelineError("isotp.length", `ISO-TP message must be 1-4095 bytes on classic CAN, got ${len}`);
    }
    if (this.#sending) throw new PipelineError("isotp.busy", "an ISO-TP send is already in progress");
    this.#sending = true;
    this.#fcQueue.length = 0;
    try {
      await this.#send(payload, options);
    } finally {
      this.#sending = false;
      this.#fcQueue.length = 0;
    }
  }

  async #send(payload: Uint8Array, options: IsoTpSendOptions): Promise<void> {
    const len = payload.length;
    if (len <= 7) {
      const b = new Uint8Array(8);
      b[0] = len;
      b.set(payload, 1);
      await this.#tx(this.#frame(b, len + 1));
      return;
    }
    const ff = new Uint8Array(8);
    ff[0] = 0x10 | (len >> 8);
    ff[1] = len & 0xff;
    ff.set(payload.subarray(0, 6), 2);
    await this.#tx(this.#frame(ff, 8));
    let sent = 6;
    let sn = 1;
    let cfIndex = 0;
    let waits = 0;
    const cf = new Uint8Array(8);
    while (sent < len) {
      const fc = await this.#waitFc();
      if (fc.fs === 1) {
        if (++waits > this.#maxWait) {
          throw new PipelineError(
            "isotp.wait_limit",
            `receiver sent more than ${this.#maxWait} flow-control WAIT frames; giving up`,
          );
        }
        continue;
      }
      if (fc.fs === 2) {
        throw new PipelineError(
          "isotp.overflow",
          `receiver 0x${this.address.txId.toString(16)} cannot take a ${len}-byte message (flow control OVERFLOW)`,
        );
      }
      if (fc.fs !== 0) {
        throw new PipelineError("isotp.flow_control", `invalid flow status ${fc.fs} in flow-control frame`);
      }
      waits = 0;
      const gap = stMinToMs(fc.stMin);
      let inBlock = 0;
      while (sent < len && (fc.bs === 0 || inBlock < fc.bs)) {
        if (inBlock > 0 && gap > 0) await this.#sleep(gap);
        if (this.#closed) throw new PipelineError("isotp.closed", "ISO-TP channel closed while sending");
        cfIndex++;
        const n = Math.min(7, len - sent);
        cf[0] = 0x20 | (options.corruptSequenceAt === cfIndex ? (sn + 1) & 0xf : sn);
        cf.set(payload.subarray(sent, sent + n), 1);
        await this.#tx(this.#frame(cf, n + 1));
        sent += n;
        sn = (sn + 1) & 0xf;
        inBlock++;
      }
    }
  }

  #armCr(): void {
    clearTimeout(this.#crTimer);
    this.#crTimer = setTimeout(() => {
      this.#crTimer = undefined;
      const rx = this.#rx;
      this.#rx = undefined;
      this.#deliver(
        timeoutError("N_Cr", this.#nCr, `waiting for consecutive frame ${rx?.sn ?? "?"}`, this.address),
      );
    }, this.#nCr);
  }

  #onFrame(d: Uint8Array): void {
    if (this.#closed || d.length === 0) return;
    const type = d[0] >> 4;
    switch (type) {
      case 0: { // single frame
        const len = d[0] & 0xf;
        if (len === 0 || len > d.length - 1) return; // invalid SF_DL: ignore, as the standard says
        if (this.#rx) this.#abortRx();
        this.#deliver(d.slice(1, 1 + len));
        return;
      }
      case 1: { // first frame
        if (d.length < 8) return;
        let len = ((d[0] & 0xf) << 8) | d[1];
        let start = 2;
        if (len === 0) { // escape: 32-bit length
          len = ((d[2] << 24) | (d[3] << 16) | (d[4] << 8) | d[5]) >>> 0;
          start = 6;
        }
        if (len < 8) return;
        if (this.#rx) this.#abortRx();
        if (len > this.#maxLength) {
          this.#sendFc(2).catch(() => {});
          this.#deliver(
            new PipelineError("isotp.overflow", `incoming ISO-TP message of ${len} bytes exceeds ${this.#maxLength}`),
          );
          return;
        }
        const buf = new Uint8Array(len);
        buf.set(d.subarray(start, 8));
        this.#rx = { buf, got: 8 - start, sn: 1, left: this.#bs };
        this.#armCr();
        this.#sendFc(0).catch((e) => this.#deliver(e));
        return;
      }
      case 2: { // consecutive frame
        const rx = this.#rx;
        if (!rx) return; // unexpected CF: ignore
        const sn = d[0] & 0xf;
        if (sn !== rx.sn) {
          this.#rx = undefined;
          clearTimeout(this.#crTimer);
          this.#deliver(
            new PipelineError(
              "isotp.sequence",
              `ISO-TP consecutive frame out of order on 0x${this.address.rxId.toString(16)}: expected sequence ` +
                `number ${rx.sn}, got ${sn}; message of ${rx.buf.length} bytes dropped after ${rx.got}`,
              { path: "sequence" },
            ),
          );
          return;
        }
        const n = Math.min(d.length - 1, rx.buf.length - rx.got);
        rx.buf.set(d.subarray(1, 1 + n), rx.got);
        rx.got += n;
        rx.sn = (rx.sn + 1) & 0xf;
        if (rx.got >= rx.buf.length) {
          clearTimeout(this.#crTimer);
          this.#crTimer = undefined;
          this.#rx = undefined;
          this.#deliver(rx.buf);
          return;
        }
        this.#armCr();
        if (this.#bs > 0 && --rx.left === 0) {
          rx.left = this.#bs;
          this.#sendFc(0).catch((e) => this.#deliver(e));
        }
        return;
      }
      case 3: { // flow control
        if (!this.#sending || d.length < 3) return;
        const fc = { fs: d[0] & 0xf, bs: d[1], stMin: d[2] };
        const w = this.#fcWaiter;
        if (!w) {
          this.#fcQueue.push(fc);
          return;
        }
        this.#fcWaiter = undefined;
        clearTimeout(w.timer);
        w.resolve(fc);
        return;
      }
      default:
        return;
    }
  }

  #abortRx(): void {
    clearTimeout(this.#crTimer);
    this.#crTimer = undefined;
    this.#rx = undefined;
  }

  /** Stop listening; pending `receive` and `send` calls reject with `isotp.closed`; timers are cleared. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#off();
    this.#abortRx();
    const err = new PipelineError("isotp.closed", "ISO-TP channel is closed");
    for (const w of this.#waiters.splice(0)) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.reject(err);
    }
    const fc = this.#fcWaiter;
    this.#fcWaiter = undefined;
    if (fc) {
      clearTimeout(fc.timer);
      fc.reject(err);
    }
    const s = this.#sleepTimer;
    this.#sleepTimer = undefined;
    if (s) {
      clearTimeout(s.timer);
      s.resolve();
    }
    this.#queue.length = 0;
  }
}
