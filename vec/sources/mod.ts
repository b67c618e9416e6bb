/**
 * Frame sources of the VEC: SocketCAN through Deno FFI ({@link SocketCanReader}) and candump log replay
 * ({@link CandumpSource}). Both fill a {@link FrameBatch} (core/can/batch.ts) and share {@link FrameSource}.
 * {@link SocketCanLink} adapts a SocketCAN socket to core/isotp's `CanLink`, so the OBD-II client (core/obd) runs
 * on SocketCAN.
 *
 * @example
 * ```ts
 * import { CandumpSource, type FrameSource } from "./mod.ts";
 * import { FrameBatch } from "../../core/can/mod.ts";
 * const src: FrameSource = new CandumpSource("(1.0) vcan0 123#0102\n", { speed: 0 });
 * const batch = new FrameBatch(256);
 * let n;
 * while ((n = await src.read(batch)) !== -1) {
 *   // decode batch.count records, then
 *   batch.clear();
 * }
 * src.close();
 * ```
 * @module
 */
import type { FrameBatch } from "../../core/can/mod.ts";

/** Anything that appends CAN frames to a {@link FrameBatch}. */
export interface FrameSource {
  /**
   * Append frames to `batch` (up to its free room).
   * @returns frames appended; 0 = none yet (try again), -1 = end of the source
   */
  read(batch: FrameBatch): Promise<number>;
  /** Release the source; a pending `read` ends and later reads return -1. */
  close(): void;
}

export { SocketCanLink } from "./can_link.ts";
export { CandumpSource, type CandumpSourceOptions } from "./candump_source.ts";
export { LoopingSource } from "./looping_source.ts";
export {
  CAN_MTU,
  CANFD_MTU,
  type CanFilter,
  closeFd,
  encodeFilters,
  encodeKernelFrame,
  filtersForIds,
  socketCanError,
  type SocketCanOptions,
  SocketCanReader,
  type SocketCanStats,
  socketPair,
} from "./socketcan.ts";
