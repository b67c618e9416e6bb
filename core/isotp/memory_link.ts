/**
 * An in-memory CAN bus for tests and simulators: every frame sent on one {@link CanLink} endpoint is delivered
 * (asynchronously, in order) to every other endpoint of the same bus.
 * @module
 */
import type { CanFrame } from "../can/mod.ts";
import { PipelineError } from "../errors/mod.ts";
import type { CanLink } from "./isotp.ts";

/**
 * A broadcast bus of {@link CanLink}s.
 *
 * @example
 * ```ts
 * import { MemoryCanBus } from "./mod.ts";
 * const bus = new MemoryCanBus();
 * const tester = bus.link();
 * const ecu = bus.link();
 * ecu.onFrame((f) => console.log(f.id));
 * const frame = { timestamp: 0, iface: "mem", id: 0x7df, extended: false, rtr: false, error: false, fd: false };
 * await tester.send({ ...frame, brs: false, esi: false, data: new Uint8Array([2, 1, 0x0c]) });
 * ```
 */
export class MemoryCanBus {
  readonly #links = new Set<MemoryLink>();
  /** Every frame sent on the bus, in order (for assertions). */
  readonly log: CanFrame[] = [];
  /** Keep `log` (default true). */
  recording = true;

  /** A new endpoint on the bus. */
  link(): CanLink & { close(): void } {
    const l = new MemoryLink(this);
    this.#links.add(l);
    return l;
  }

  /** @internal deliver `frame` from `from` to the others. */
  _broadcast(from: MemoryLink, frame: CanFrame): void {
    if (this.recording) this.log.push(frame);
    for (const l of this.#links) if (l !== from) l._receive(frame);
  }

  /** @internal */
  _remove(l: MemoryLink): void {
    this.#links.delete(l);
  }
}

class MemoryLink implements CanLink {
  readonly #bus: MemoryCanBus;
  readonly #listeners = new Set<(f: CanFrame) => void>();
  #closed = false;

  constructor(bus: MemoryCanBus) {
    this.#bus = bus;
  }

  send(frame: CanFrame): Promise<void> {
    if (this.#closed) return Promise.reject(new PipelineError("link.closed", "CAN link is closed"));
    // Deliver on a microtask so a sender never re-enters its own listener synchronously.
    return Promise.resolve().then(() => this.#bus._broadcast(this, frame));
  }

  onFrame(cb: (frame: CanFrame) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  _receive(frame: CanFrame): void {
    for (const cb of this.#listeners) cb(frame);
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#bus._remove(this);
  }
}
