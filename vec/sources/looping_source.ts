/**
 * Replays a log again and again: when the inner source ends, a fresh one is opened (`can.loop`).
 * @module
 */
import type { FrameBatch } from "../../core/can/mod.ts";

/** The frame source interface of the pipeline (kept structural: `read` and `close`). */
interface Source {
  read(batch: FrameBatch): Promise<number>;
  close(): void | Promise<void>;
}

/** A source that reopens its log at the end, for ever (until closed). */
export class LoopingSource implements Source {
  #closed = false;
  #inner: Source;
  readonly #open: () => Promise<Source>;

  /**
   * @param open opens a fresh source over the log
   * @param first the source already opened
   */
  constructor(open: () => Promise<Source>, first: Source) {
    this.#open = open;
    this.#inner = first;
  }

  /** Reads from the current pass; at its end opens the next one and returns 0. */
  async read(batch: FrameBatch): Promise<number> {
    if (this.#closed) return -1;
    const n = await this.#inner.read(batch);
    if (n >= 0) return n;
    await this.#inner.close();
    if (this.#closed) return -1;
    this.#inner = await this.#open();
    return 0;
  }

  /** Stops; a pending read of the current pass ends. */
  close(): void {
    this.#closed = true;
    this.#inner.close();
  }
}
