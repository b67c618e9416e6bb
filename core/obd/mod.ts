/**
 * OBD-II diagnostics over ISO-TP (core/isotp): service 01 PIDs with the SAE J1979 formulas mapped to VSS 4.0
 * paths, supported-PID bitmaps, DTCs (services 03 / 07 / 0A → `P0301`), VIN (09 02), negative responses (0x7F,
 * NRC 0x12 / 0x31 / 0x78 response pending), a polling scheduler ({@link ObdPoller}: per-PID rates defaulting to the
 * ESP gateway seed's — rpm 100 ms, coolant 1 s —, one request in flight per ECU, up to six due PIDs per request,
 * a bus-load limit) with DTC change events for `diagnostics/dtc` (QoS 1) and derived `diagnostics/error_count` /
 * `diagnostics/health`, and an ECU simulator for tests ({@link EcuSimulator}).
 *
 * | PID | name | formula | VSS |
 * |---|---|---|---|
 * | 0x04 | engine_load | A·100/255 % | Vehicle.OBD.EngineLoad |
 * | 0x05 | coolant_temp | A−40 °C | Vehicle.OBD.CoolantTemperature, Vehicle.Powertrain.CombustionEngine.ECT |
 * | 0x0C | engine_rpm | (256A+B)/4 rpm | Vehicle.OBD.EngineSpeed, Vehicle.Powertrain.CombustionEngine.Speed |
 * | 0x0D | vehicle_speed | A km/h | Vehicle.OBD.Speed, Vehicle.Speed |
 * | 0x0F | intake_temp | A−40 °C | Vehicle.OBD.IntakeTemp |
 * | 0x10 | maf | (256A+B)/100 g/s | Vehicle.OBD.MAF |
 * | 0x11 | throttle_position | A·100/255 % | Vehicle.OBD.ThrottlePosition |
 * | 0x1F | run_time | 256A+B s | Vehicle.OBD.RunTime |
 * | 0x2F | fuel_level | A·100/255 % | Vehicle.OBD.FuelLevel |
 * | 0x31 | distance_since_dtc_clear | 256A+B km | Vehicle.OBD.DistanceSinceDTCClear |
 * | 0xA6 | odometer | (A·2²⁴+B·2¹⁶+C·2⁸+D)/10 km | Vehicle.TraveledDistance |
 *
 * DTC lists go to `Vehicle.OBD.DTCList`, the VIN to `Vehicle.VehicleIdentification.VIN`. Samples, events and
 * {@link pidDatapoints} carry `tsMs` (integer ms since the epoch); datapoints are `core/datapoint` `Datapoint`s.
 *
 * @example
 * ```ts
 * import { EcuSimulator, ObdClient, ObdPoller } from "./mod.ts";
 * import { MemoryCanBus } from "../isotp/mod.ts";
 * const bus = new MemoryCanBus();
 * const ecu = new EcuSimulator(bus.link(), { values: { 0x0c: 850, 0x05: 90 }, dtcs: { stored: ["P0301"] } });
 * const client = new ObdClient(bus.link(), { ecu: 0 });
 * console.log(await client.readPid(0x0c)); // { pid: 12, name: "engine_rpm", value: 850, unit: "rpm" }
 * const poller = new ObdPoller([client], { onSample: (s) => console.log(s.vss[0], s.value), onEvent: console.log });
 * poller.start();
 * await new Promise((r) => setTimeout(r, 1000));
 * await poller.stop();
 * client.close();
 * ecu.close();
 * ```
 * @module
 */
export {
  discoverEcus,
  NRC_NAMES,
  ObdClient,
  type ObdClientOptions,
  ObdNegativeResponseError,
  type PidReading,
} from "./client.ts";
export {
  decodeDtc,
  decodeSupportedPids,
  encodeDtc,
  encodeSupportedPids,
  INTEGER_VSS_PATHS,
  pidDatapoints,
  type PidDef,
  pidDef,
  PIDS,
  VSS_DTC_LIST,
  VSS_VIN,
} from "./pids.ts";
export {
  type DiagnosticsEvent,
  type DtcEvent,
  type DtcKind,
  type ObdHealth,
  ObdPoller,
  type ObdPollerOptions,
  type ObdPollerStats,
  type ObdSample,
} from "./poller.ts";
export { type EcuSimOptions, EcuSimulator, type Misbehaviour, type MisbehaviourOptions } from "./ecu_sim.ts";
