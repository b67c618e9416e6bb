/**
 * SocketCAN frame source through Deno FFI on libc.
 *
 * `socket(PF_CAN, SOCK_RAW, CAN_RAW)`, `if_nametoindex`, `bind(sockaddr_can)`, `CAN_RAW_FD_FRAMES`,
 * kernel filters (`CAN_RAW_FILTER`), `SO_TIMESTAMP` kernel receive timestamps read from the `recvmmsg`
 * control messages, non-blocking batched reads (`MSG_DONTWAIT`; waiting happens in `poll` called as a
 * `nonblocking` FFI symbol, i.e. on a worker thread, so the event loop never blocks). Frames are written
 * straight from the kernel's `struct can_frame` (16 B) / `struct canfd_frame` (72 B) into a
 * {@link FrameBatch}: a read allocates nothing.
 *
 * Needs `--allow-ffi`. Linux x86_64/aarch64 (LP64) only.
 * @module
 */
import { PipelineError } from "../../core/errors/mod.ts";
import {
  CAN_EFF_FLAG,
  CAN_EFF_MASK,
  CAN_ERR_FLAG,
  CAN_RTR_FLAG,
  CAN_SFF_MASK,
  CANFD_BRS,
  CANFD_ESI,
  type CanFrame,
} from "../../core/can/mod.ts";
import {
  FRAME_FLAG_FD,
  FRAME_OFF_DATA,
  FRAME_OFF_FLAGS,
  FRAME_OFF_ID,
  FRAME_OFF_IFACE,
  FRAME_OFF_LEN,
  FRAME_OFF_TS,
  FRAME_RECORD_SIZE,
  type FrameBatch,
} from "../../core/can/mod.ts";

// ---- Linux constants -------------------------------------------------------------------------------------------
const PF_CAN = 29;
const AF_UNIX = 1;
const SOCK_RAW = 3;
const SOCK_SEQPACKET = 5;
const CAN_RAW = 1;
const SOL_SOCKET = 1;
const SO_TIMESTAMP = 29; // SO_TIMESTAMP_OLD on LP64: struct timeval (16 B)
const SOL_CAN_RAW = 101;
const CAN_RAW_FILTER = 1;
const CAN_RAW_FD_FRAMES = 5;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const POLLIN = 0x1;
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;
const EPERM = 1;
const EINTR = 4;
const EAGAIN = 11;
const EACCES = 13;
const ENODEV = 19;
const ENOPROTOOPT = 92;
const EAFNOSUPPORT = 97;
const ENOBUFS = 105;
const ENETDOWN = 100;

/** Size of the kernel's `struct can_frame`. */
export const CAN_MTU = 16;
/** Size of the kernel's `struct canfd_frame`. */
export const CANFD_MTU = 72;
/** `canfd_frame.flags` bit marking a CAN FD frame (Linux ≥ 6.1 sets it on FD frames). */
export const CANFD_FDF = 0x04;

// struct msghdr (56 B) + msg_len → struct mmsghdr is 64 B on LP64.
const MMSG_SIZE = 64;
const CTRL_SIZE = 64; // room for one SO_TIMESTAMP cmsg (32 B) and one more small cmsg
const IOV_SIZE = 16;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let libc: Libc | undefined;

function lib(): Libc {
  if (libc) return libc;
  if (Deno.build.os !== "linux") {
    throw new PipelineError("socketcan.unsupported", `SocketCAN needs Linux; this is ${Deno.build.os}`);
  }
  try {
    libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch (e) {
    throw new PipelineError(
      "socketcan.ffi",
      `cannot load libc.so.6 through FFI (run with --allow-ffi): ${(e as Error).message}`,
      { cause: e },
    );
  }
  return libc;
}

function errno(): number {
  const p = lib().__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

function ptrValue(buf: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>)));
}

/**
 * Turn a failed libc call's errno into a {@link PipelineError} with an actionable message.
 * `socketcan.unsupported` (EAFNOSUPPORT), `socketcan.no_interface` (ENODEV), `socketcan.permission`
 * (EPERM/EACCES), `socketcan.interface_down` (ENETDOWN), otherwise `socketcan.io`.
 */
export function socketCanError(err: number, options: { op: string; iface?: string }): PipelineError {
  const where = options.iface ? ` on ${options.iface}` : "";
  const path = options.iface;
  switch (err) {
    case EAFNOSUPPORT:
      return new PipelineError(
        "socketcan.unsupported",
        `${options.op}${where}: this kernel has no AF_CAN support (EAFNOSUPPORT); load the can and can_raw modules ` +
          `(modprobe can_raw) or replay a candump log instead`,
        { path },
      );
    case ENODEV:
      return new PipelineError(
        "socketcan.no_interface",
        `${options.op}: no CAN interface named ${options.iface ?? "?"} (ENODEV); list interfaces with ` +
          `'ip link show type can' (or create one: ip link add dev vcan0 type vcan)`,
        { path },
      );
    case EPERM:
    case EACCES:
      return new PipelineError(
        "socketcan.permission",
        `${options.op}${where}: permission denied (errno ${err}); raw CAN sockets need CAP_NET_RAW ` +
          `(run as root or setcap cap_net_raw+ep on the deno binary)`,
        { path },
      );
    case ENETDOWN:
      return new PipelineError(
        "socketcan.interface_down",
        `${options.op}${where}: the interface is down; bring it up with 'ip link set ${options.iface ?? "can0"} up'`,
        { path },
      );
    default:
      return new PipelineError("socketcan.io", `${options.op}${where} failed with errno ${err}`, { path });
  }
}

/** A kernel receive filter (`struct can_filter`): a frame passes when `(frame_id & mask) == (id & mask)`. */
export interface CanFilter {
  /** `can_id` with `CAN_EFF_FLAG` for 29-bit IDs. */
  id: number;
  /** `can_mask`. */
  mask: number;
}

/**
 * Exact-match kernel filters for a list of frame IDs (e.g. the DBC's messages). IDs above 0x7FF, or entries with
 * `extended: true`, are 29-bit. Duplicates are dropped. RTR frames do not pass.
 */
export function filtersForIds(ids: Iterable<number | { id: number; extended?: boolean }>): CanFilter[] {
  const seen = new Set<number>();
  const out: CanFilter[] = [];
  for (const x of ids) {
    const id = typeof x === "number" ? x : x.id;
    const ext = typeof x === "number" ? id > CAN_SFF_MASK : (x.extended ?? id > CAN_SFF_MASK);
    if (!Number.isInteger(id) || id < 0 || id > CAN_EFF_MASK || (!ext && id > CAN_SFF_MASK)) {
      throw new PipelineError("socketcan.filter", `filter ID ${id} is not a valid ${ext ? 29 : 11}-bit CAN ID`);
    }
    const key = ext ? (id | CAN_EFF_FLAG) >>> 0 : id;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(
      ext
        ? { id: key, mask: (CAN_EFF_FLAG | CAN_RTR_FLAG | CAN_EFF_MASK) >>> 0 }
        : { id, mask: (CAN_EFF_FLAG | CAN_RTR_FLAG | CAN_SFF_MASK) >>> 0 },
    );
  }
  return out;
}

/** The `CAN_RAW_FILTER` option bytes: an array of `struct can_filter { u32 can_id; u32 can_mask; }`. */
export function encodeFilters(filters: readonly CanFilter[]): Uint8Array {
  const out = new Uint8Array(Math.max(1, filters.length) * 8);
  const v = new DataView(out.buffer);
  filters.forEach((f, i) => {
    v.setUint32(i * 8, f.id >>> 0, true);
    v.setUint32(i * 8 + 4, f.mask >>> 0, true);
  });
  return filters.length === 0 ? out.subarray(0, 0) : out;
}

/**
 * Encode a frame as the kernel's `struct can_frame` (16 B) or, for FD frames, `struct canfd_frame` (72 B).
 * With `into` the bytes are written there (at least 72 B) and a subarray is returned.
 */
export function encodeKernelFrame(frame: CanFrame, into?: Uint8Array): Uint8Array {
  const size = frame.fd ? CANFD_MTU : CAN_MTU;
  const max = frame.fd ? 64 : 8;
  if (frame.data.length > max) {
    throw new PipelineError(
      "socketcan.frame",
      `frame 0x${frame.id.toString(16)} has ${frame.data.length} data bytes; at most ${max} fit a ${
        frame.fd ? "CAN FD" : "classic CAN"
      } frame`,
    );
  }
  const buf = into ? into.subarray(0, size) : new Uint8Array(size);
  buf.fill(0);
  const v = new DataView(buf.buffer, buf.byteOffset, size);
  let id = frame.id & (frame.extended ? CAN_EFF_MASK : CAN_SFF_MASK);
  if (frame.extended) id |= CAN_EFF_FLAG;
  if (frame.rtr) id |= CAN_RTR_FLAG;
  if (frame.error) id |= CAN_ERR_FLAG;
  v.setUint32(0, id >>> 0, true);
  buf[4] = frame.rtr ? (frame.dlc ?? 0) : frame.data.length;
  if (frame.fd) buf[5] = (frame.brs ? CANFD_BRS : 0) | (frame.esi ? CANFD_ESI : 0) | CANFD_FDF;
  if (!frame.rtr) buf.set(frame.data, 8);
  return buf;
}

/** Options of {@link SocketCanReader.open} and {@link SocketCanReader.fromFd}. */
export interface SocketCanOptions {
  /** Kernel receive filters ({@link filtersForIds}); default: everything. Only applied by `open`. */
  filters?: readonly CanFilter[];
  /** Enable CAN FD frames (`CAN_RAW_FD_FRAMES`); default false. Only applied by `open`. */
  fd?: boolean;
  /** Most frames one `recvmmsg` returns (default 64; values above 1024, the kernel's limit, mean 1024). */
  maxBatch?: number;
  /** How long one `read` waits (in a worker thread) for frames before returning 0; default 100 ms. */
  pollTimeoutMs?: number;
  /** Interface name stored in the batch (default: the opened interface, or `fd<N>`). */
  iface?: string;
}

/** Counters of a {@link SocketCanReader}. */
export interface SocketCanStats {
  /** Frames received. */
  frames: number;
  /** Frames among them that carried a kernel `SO_TIMESTAMP`. */
  kernelTimestamps: number;
  /** `recvmmsg` calls that returned at least one frame. */
  reads: number;
  /** Datagrams dropped because their size was neither 16 nor 72 bytes. */
  malformed: number;
  /** Frames sent. */
  sent: number;
  /** Times `send` found the transmit queue full and waited for room. */
  txWaits: number;
}

/**
 * Reads (and sends) CAN frames on a raw CAN socket, or on any datagram fd that carries kernel CAN frames
 * (tests use an AF_UNIX SOCK_SEQPACKET pair, {@link socketPair}).
 *
 * @example Needs a CAN interface (`can0`), so it is not run by `deno test --doc`.
 * ```ts ignore
 * import { FrameBatch } from "../../core/can/mod.ts";
 * import { filtersForIds, SocketCanReader } from "./mod.ts";
 * const r = SocketCanReader.open("can0", { filters: filtersForIds([0x118, 0x257]), fd: false, maxBatch: 64 });
 * const batch = new FrameBatch(256);
 * const n = await r.read(batch); // 0 = nothing yet, -1 = socket closed
 * r.close();
 * ```
 */
export class SocketCanReader {
  /** The socket's file descriptor. */
  readonly fd: number;
  /** Interface name written into batches. */
  readonly iface: string;
  readonly #max: number;
  readonly #timeout: number;
  readonly #frames: Uint8Array;
  readonly #fview: DataView;
  readonly #ctrl: Uint8Array;
  readonly #cview: DataView;
  readonly #mmsg: Uint8Array;
  readonly #mview: DataView;
  readonly #iov: Uint8Array;
  readonly #pollfd: Uint8Array;
  readonly #pview: DataView;
  readonly #tx = new Uint8Array(CANFD_MTU);
  #closed = false;
  #busy = false;
  #fdClosed = false;
  #hup = false;
  #stats: SocketCanStats = { frames: 0, kernelTimestamps: 0, reads: 0, malformed: 0, sent: 0, txWaits: 0 };

  private constructor(fd: number, iface: string, options: SocketCanOptions) {
    this.fd = fd;
    this.iface = iface;
    const asked = options.maxBatch ?? 64;
    if (!Number.isInteger(asked) || asked < 1) {
      throw new PipelineError("socketcan.options", `maxBatch must be a positive integer, got ${asked}`);
    }
    // recvmmsg takes at most UIO_MAXIOV (1024) messages per call.
    const max = Math.min(asked, 1024);
    this.#max = max;
    this.#timeout = options.pollTimeoutMs ?? 100;
    this.#frames = new Uint8Array(max * CANFD_MTU);
    this.#fview = new DataView(this.#frames.buffer);
    this.#ctrl = new Uint8Array(max * CTRL_SIZE);
    this.#cview = new DataView(this.#ctrl.buffer);
    this.#mmsg = new Uint8Array(max * MMSG_SIZE);
    this.#mview = new DataView(this.#mmsg.buffer);
    this.#iov = new Uint8Array(max * IOV_SIZE);
    this.#pollfd = new Uint8Array(8);
    this.#pview = new DataView(this.#pollfd.buffer);
    const iv = new DataView(this.#iov.buffer);
    const framesP = ptrValue(this.#frames);
    const ctrlP = ptrValue(this.#ctrl);
    const iovP = ptrValue(this.#iov);
    for (let i = 0; i < max; i++) {
      iv.setBigUint64(i * IOV_SIZE, framesP + BigInt(i * CANFD_MTU), true);
      iv.setBigUint64(i * IOV_SIZE + 8, BigInt(CANFD_MTU), true);
      const m = i * MMSG_SIZE;
      this.#mview.setBigUint64(m + 16, iovP + BigInt(i * IOV_SIZE), true); // msg_iov
      this.#mview.setBigUint64(m + 24, 1n, true); // msg_iovlen
      this.#mview.setBigUint64(m + 32, ctrlP + BigInt(i * CTRL_SIZE), true); // msg_control
    }
    this.#pview.setInt32(0, fd, true);
    this.#pview.setInt16(4, POLLIN, true);
    const one = new Int32Array([1]);
    if (lib().setsockopt(fd, SOL_SOCKET, SO_TIMESTAMP, new Uint8Array(one.buffer), 4) !== 0) {
      const err = errno();
      if (err !== ENOPROTOOPT) throw socketCanError(err, { op: "setsockopt(SO_TIMESTAMP)", iface });
    }
  }

  /**
   * Open a raw CAN socket on `iface` (e.g. `can0`, `vcan0`).
   * @throws PipelineError `socketcan.unsupported` (no AF_CAN in the kernel), `socketcan.no_interface`,
   *   `socketcan.permission` (needs CAP_NET_RAW)
   */
  static open(iface: string, options: SocketCanOptions = {}): SocketCanReader {
    const c = lib();
    const fd = c.socket(PF_CAN, SOCK_RAW, CAN_RAW);
    if (fd < 0) throw socketCanError(errno(), { op: "socket(PF_CAN, SOCK_RAW, CAN_RAW)", iface });
    try {
      const name = new TextEncoder().encode(iface + "\0");
      if (name.length > 16) {
        throw new PipelineError("socketcan.no_interface", `interface name ${iface} is longer than 15 characters`, {
          path: iface,
        });
      }
      const index = c.if_nametoindex(name);
      if (index === 0) throw socketCanError(errno() || ENODEV, { op: "if_nametoindex", iface });
      if (options.fd) {
        const one = new Int32Array([1]);
        if (c.setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, new Uint8Array(one.buffer), 4) !== 0) {
          throw socketCanError(errno(), { op: "setsockopt(CAN_RAW_FD_FRAMES): CAN FD not supported", iface });
        }
      }
      if (options.filters) {
        const f = encodeFilters(options.filters);
        if (c.setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FILTER, f.length ? f : new Uint8Array(8), f.length) !== 0) {
          throw socketCanError(errno(), { op: "setsockopt(CAN_RAW_FILTER)", iface });
        }
      }
      const addr = new Uint8Array(24); // struct sockaddr_can
      const av = new DataView(addr.buffer);
      av.setUint16(0, PF_CAN, true);
      av.setInt32(4, index, true);
      if (c.bind(fd, addr, addr.length) !== 0) throw socketCanError(errno(), { op: "bind", iface });
      return new SocketCanReader(fd, options.iface ?? iface, options);
    } catch (e) {
      c.close(fd);
      throw e;
    }
  }

  /**
   * Wrap an open datagram fd that carries kernel CAN frames (a CAN socket opened elsewhere, or one end of
   * {@link socketPair}). The reader owns the fd and closes it. Filters and `fd` are not applied.
   */
  static fromFd(fd: number, options: SocketCanOptions = {}): SocketCanReader {
    return new SocketCanReader(fd, options.iface ?? `fd${fd}`, options);
  }

  /** Counters (a copy). */
  stats(): SocketCanStats {
    return { ...this.#stats };
  }

  /**
   * Append received frames to `batch` (at most `maxBatch` and the batch's free room). When no frame is queued it
   * waits up to `pollTimeoutMs` in a worker thread.
   * @returns frames appended; 0 when none arrived (or the batch is full); -1 when the socket is closed
   */
  async read(batch: FrameBatch): Promise<number> {
    if (this.#closed || this.#hup) return -1;
    if (this.#busy) throw new PipelineError("socketcan.busy", "read() called while another read() is pending");
    const room = Math.min(this.#max, batch.capacity - batch.count);
    if (room <= 0) return 0;
    let n = this.#recv(batch, room);
    if (n !== 0) return n;
    this.#busy = true;
    let ready: number;
    try {
      this.#pview.setInt16(6, 0, true);
      ready = await lib().poll(this.#pollfd, 1n, this.#timeout);
    } finally {
      this.#busy = false;
      if (this.#closed) this.#closeFd();
    }
    if (this.#closed) return -1;
    if (ready < 0) {
      // poll ran on an FFI worker thread, so its errno is not readable here. EINTR is the usual cause; a real
      // socket error shows up in the next recvmmsg, which runs on this thread.
      return 0;
    }
    if (ready === 0) return 0;
    const rev = this.#pview.getInt16(6, true);
    n = this.#recv(batch, room);
    if (n === 0 && (rev & (POLLHUP | POLLNVAL)) !== 0) {
      this.#hup = true;
      return -1;
    }
    if (n === 0 && (rev & POLLERR) !== 0) {
      // Surface the pending socket error through a recv attempt on the next read.
      return 0;
    }
    return n;
  }

  /** One non-blocking recvmmsg into `batch`; returns frames added, 0 when none, -1 at end of stream. */
  #recv(batch: FrameBatch, room: number): number {
    const mv = this.#mview;
    for (let i = 0; i < room; i++) {
      const m = i * MMSG_SIZE;
      mv.setUint32(m + 40, CTRL_SIZE, true); // msg_controllen (size_t; the high half stays 0)
      mv.setInt32(m + 48, 0, true); // msg_flags
      mv.setUint32(m + 56, 0, true); // msg_len
    }
    const got = lib().recvmmsg(this.fd, this.#mmsg, room, MSG_DONTWAIT, null);
    if (got < 0) {
      const err = errno();
      if (err === EAGAIN || err === EINTR) return 0;
      throw socketCanError(err, { op: "recvmmsg", iface: this.iface });
    }
    if (got === 0) return 0;
    const ifx = batch.ifaceIndex(this.iface);
    const fv = this.#fview;
    const cv = this.#cview;
    const bv = batch.view;
    const bytes = batch.bytes;
    const frames = this.#frames;
    let added = 0;
    for (let i = 0; i < got; i++) {
      const m = i * MMSG_SIZE;
      const len = mv.getUint32(m + 56, true);
      const flags = mv.getInt32(m + 48, true);
      if (len === 0) {
        // A zero-length datagram: the peer closed (SOCK_SEQPACKET end of stream).
        this.#hup = true;
        break;
      }
      if ((len !== CAN_MTU && len !== CANFD_MTU) || (flags & MSG_TRUNC) !== 0) {
        this.#stats.malformed++;
        continue;
      }
      // Kernel timestamp from the SCM_TIMESTAMP control message, else wall clock.
      let ts = -1;
      const clen = mv.getUint32(m + 40, true);
      let c = i * CTRL_SIZE;
      const cend = c + clen;
      while (c + 16 <= cend) {
        const cmsgLen = cv.getUint32(c, true);
        if (cmsgLen < 16) break;
        if (cv.getInt32(c + 8, true) === SOL_SOCKET && cv.getInt32(c + 12, true) === SO_TIMESTAMP) {
          // struct timeval { time_t tv_sec; suseconds_t tv_usec; } read as 32-bit halves (no BigInt per frame)
          ts = cv.getInt32(c + 20, true) * 4294967296 + cv.getUint32(c + 16, true) + cv.getInt32(c + 24, true) / 1e6;
          break;
        }
        c += (cmsgLen + 7) & ~7;
      }
      if (ts < 0) ts = Date.now() / 1000;
      else this.#stats.kernelTimestamps++;
      const f = i * CANFD_MTU;
      const o = (batch.count + added) * FRAME_RECORD_SIZE;
      const canId = fv.getUint32(f, true);
      const isFd = len === CANFD_MTU;
      let dlen = frames[f + 4];
      if (dlen > (isFd ? 64 : 8)) dlen = isFd ? 64 : 8;
      bv.setFloat64(o + FRAME_OFF_TS, ts, true);
      bv.setUint32(o + FRAME_OFF_ID, canId, true);
      bv.setUint8(o + FRAME_OFF_LEN, dlen);
      bv.setUint8(o + FRAME_OFF_FLAGS, isFd ? (frames[f + 5] & (CANFD_BRS | CANFD_ESI)) | FRAME_FLAG_FD : 0);
      bv.setUint16(o + FRAME_OFF_IFACE, ifx, true);
      if ((canId & CAN_RTR_FLAG) === 0) {
        // A byte loop, not subarray + set: no view object per frame.
        const d = o + FRAME_OFF_DATA;
        const src = f + 8;
        for (let k = 0; k < dlen; k++) bytes[d + k] = frames[src + k];
      }
      added++;
    }
    batch.count += added;
    this.#stats.frames += added;
    if (added > 0) this.#stats.reads++;
    return added === 0 && this.#hup ? -1 : added;
  }

  /**
   * Send one frame (`struct can_frame`, or `struct canfd_frame` when `frame.fd`). Waits (off the event loop)
   * while the transmit queue is full.
   */
  async send(frame: CanFrame): Promise<void> {
    await this.sendRaw(encodeKernelFrame(frame, this.#tx));
  }

  /** Send bytes as one datagram (a kernel frame built by {@link encodeKernelFrame}, or anything for tests). */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    if (this.#closed) throw new PipelineError("socketcan.closed", `send on closed socket ${this.iface}`);
    for (let attempt = 0;; attempt++) {
      const size = bytes.length === CAN_MTU ? 16n : bytes.length === CANFD_MTU ? 72n : BigInt(bytes.length);
      const r = lib().send(this.fd, bytes, size, MSG_DONTWAIT);
      if (Number(r) === bytes.length) {
        this.#stats.sent++;
        return;
      }
      const err = r < 0 ? errno() : EAGAIN;
      if (err !== EAGAIN && err !== ENOBUFS && err !== EINTR) {
        throw socketCanError(err, { op: "send", iface: this.iface });
      }
      if (attempt >= 100) {
        throw new PipelineError(
          "socketcan.tx_full",
          `send on ${this.iface}: the transmit queue stayed full for 100 attempts; check the bus is connected and ` +
            `terminated and the controller is not bus-off ('ip -details link show ${this.iface}')`,
          { path: this.iface },
        );
      }
      this.#stats.txWaits++;
      const pfd = new Uint8Array(8);
      const pv = new DataView(pfd.buffer);
      pv.setInt32(0, this.fd, true);
      pv.setInt16(4, POLLOUT, true);
      await lib().poll(pfd, 1n, 10);
      if (this.#closed) throw new PipelineError("socketcan.closed", `send on closed socket ${this.iface}`);
    }
  }

  /** Close the socket. A read waiting in `poll` returns -1; the fd is closed once that poll returns. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#busy) this.#closeFd();
  }

  #closeFd(): void {
    if (this.#fdClosed) return;
    this.#fdClosed = true;
    lib().close(this.fd);
  }
}

/**
 * A connected AF_UNIX SOCK_SEQPACKET pair (datagrams with boundaries, like a CAN socket), for tests:
 * wrap one end with {@link SocketCanReader.fromFd}, write kernel frames into the other.
 */
export function socketPair(): [number, number] {
  const fds = new Int32Array(2);
  if (lib().socketpair(AF_UNIX, SOCK_SEQPACKET, 0, new Uint8Array(fds.buffer)) !== 0) {
    throw socketCanError(errno(), { op: "socketpair(AF_UNIX, SOCK_SEQPACKET)" });
  }
  return [fds[0], fds[1]];
}

/** Close a raw fd (one end of {@link socketPair} not handed to a reader). */
export function closeFd(fd: number): void {
  lib().close(fd);
}
