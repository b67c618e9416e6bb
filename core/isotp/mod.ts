/**
 * ISO 15765-2 (ISO-TP) transport over a small {@link CanLink} interface: single/first/consecutive/flow-control
 * frames, block size, STmin, padding, N_As/N_Bs/N_Cr timeouts, and the OBD-II addressing helpers (11-bit 0x7DF /
 * 0x7E0-0x7E7 / 0x7E8-0x7EF, 29-bit 0x18DB33F1 / 0x18DAxxF1 / 0x18DAF1xx). {@link MemoryCanBus} is an in-memory bus
 * for tests.
 *
 * Errors (`PipelineError` codes): `isotp.timeout` (path `N_As`, `N_Bs`, `N_Cr` or `response`), `isotp.sequence`
 * (consecutive frame with the wrong sequence number), `isotp.overflow`, `isotp.wait_limit`, `isotp.length`,
 * `isotp.closed`.
 *
 * @example
 * ```ts
 * import { IsoTpChannel, MemoryCanBus, obdAddress, reverseAddress } from "./mod.ts";
 * const bus = new MemoryCanBus();
 * const tester = new IsoTpChannel(bus.link(), obdAddress(0)); // tx 0x7E0, rx 0x7E8
 * const ecu = new IsoTpChannel(bus.link(), reverseAddress(obdAddress(0)));
 * await tester.send(new Uint8Array([0x09, 0x02]));
 * console.log(await ecu.receive({ timeoutMs: 100 })); // Uint8Array [9, 2]
 * tester.close();
 * ecu.close();
 * ```
 * @module
 */
export {
  type CanLink,
  type IsoTpAddress,
  IsoTpChannel,
  type IsoTpOptions,
  type IsoTpSendOptions,
  type IsoTpTimeouts,
  OBD_FUNCTIONAL_ID,
  OBD_FUNCTIONAL_ID_29,
  OBD_TESTER_ADDRESS,
  obdAddress,
  reverseAddress,
  stMinToMs,
} from "./isotp.ts";
export { MemoryCanBus } from "./memory_link.ts";
