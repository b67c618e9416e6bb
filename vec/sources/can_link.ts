/**
 * A {@link CanLink} (core/isotp) over a {@link SocketCanReader}, so ISO-TP and the OBD-II client run on SocketCAN.
 * @module
 */
import { FrameBatch } from "../../core/can/mod.ts";
import type { CanFrame } from "../../core/can/mod.ts";
import type { CanLink } from "../../core/isotp/mod.ts";
import type { SocketCanReader } from "./socketcan.ts";

/**
 * Reads frames from a SocketCAN reader in the background and hands each to the `onFrame` listeners; `send` writes
 * through the same socket. Listeners get freshly allocated frames (diagnostic traffic is light; the DBC hot path
 * reads batches directly instead).
 *
 * @example Needs a CAN interface (`can0`), so it is not run by `deno test --doc`.
 * ```ts ignore
 * import { ObdClient } from "../../core/obd/mod.ts";
 * import { filtersForIds, SocketCanLink, SocketCanReader } from "./mod.ts";
 * const link = new SocketCanLink(SocketCanReader.open("can0", { filters: filtersForIds([0x7e8]) }));
 * const obd = new ObdClient(link, { ecu: 0 });
 * console.log(await obd.readVin());
 * obd.close();
 * await link.close();
 * ```
 */
export class SocketCanLink implements CanLink {
  readonly #reader: SocketCanReader;
  readonly #listeners = new Set<(f: CanFrame) => void>();
  readonly #batch: FrameBatch;
  readonly #loop: Promise<void>;
  #closed = false;

  /**
   * Start reading from `reader` in the background.
   * @param reader the socket; the link owns it and closes it
   * @param options `batchSize`: frames per read (default 32)
   */
  constructor(reader: SocketCanReader, options: { batchSize?: number } = {}) {
    this.#reader = reader;
    this.#batch = new FrameBatch(options.batchSize ?? 32);
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const b = this.#batch;
    while (!this.#closed) {
      const n = await this.#reader.read(b);
      for (let i = 0; i < b.count; i++) {
        const f = b.get(i);
        for (const cb of this.#listeners) cb(f);
      }
      b.clear();
      if (n < 0) return;
    }
  }

  /** Send one frame on the socket. */
  send(frame: CanFrame): Promise<void> {
    return this.#reader.send(frame);
  }

  /** Listen to every received frame; returns the function that stops listening. */
  onFrame(cb: (frame: CanFrame) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /** Stop reading and close the socket; resolves when the read loop has ended. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#reader.close();
    await this.#loop;
  }
}
