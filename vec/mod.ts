/**
 * The vehicle edge client (VEC): CAN frames (SocketCAN or a candump replay) or a VISSv2 server in, typed VSS
 * datapoints (`core/datapoint`) out to the uplinks (CESC push, MQTT; over durable queues) and the REST API.
 *
 * A frame's flow: source → [SecOC verify] → WASM decode → VSS map (`core/vss`: typed value, canonical float32, the
 * validator's rules) → time per frame in integer ms (a time RFC 3339 cannot carry refuses that frame's datapoints)
 * → sinks. Datapoints from `POST /publish`, OBD-II and a VISSv2 server go through the same `DatapointValidator`
 * (built on the loaded VSS catalog) first; refusals are per datapoint, counted by reason in `/health` and
 * `/metrics`.
 *
 * @example
 * ```ts
 * import { parseVecConfig, startVec } from "./mod.ts";
 * const config = parseVecConfig({
 *   vin: "5YJ3E1EA7KF000001",
 *   can: { log: "assets/demo/model3_drive.log", speed: 0 },
 *   cesc: { url: "http://127.0.0.1:8000" },
 *   api: { port: 0 },
 * });
 * const vec = await startVec(config);
 * console.log(await vec.done); // { frames, signals, datapoints, … }
 * ```
 * @module
 */
export { startVec, type StartVecOptions, type VecHandle, type VecSummary } from "./app.ts";
export {
  createVecApi,
  PUBLISH_ALIASES,
  publishBodyToDatapoints,
  type PublishDatapoint,
  type PublishOutcome,
  publishRefusedBody,
  type VecApiDeps,
} from "./api.ts";
export { loadVecConfig, parseVecConfig, redactConfig, type VecConfig, vecConfigSchema } from "./config.ts";
export { type CanInput, setUpCan, setUpInput, setUpViss, type VecInput, type VissInput } from "./inputs.ts";
export { type ObdConfig, obdConfigSchema, parseObdConfig } from "./obd_config.ts";
export {
  type Accepted,
  type AcceptOptions,
  type DecodeStage,
  type FrameFilter,
  type FrameSource,
  type LatestValue,
  type MapStage,
  Pipeline,
  type PipelineOptions,
  type PipelineStats,
  VIN_PATH,
} from "./pipeline.ts";
export { type TlsFiles, tlsHttpClient } from "./tls.ts";
export { buildSinks, type BuiltSinks, type UplinkDeps } from "./uplinks.ts";
export {
  CescSink,
  type CescSinkOptions,
  type CescSinkStats,
  jsonPushEncoder,
  type PushEncoder,
  type RequestSigner,
} from "./sinks/cesc.ts";
export {
  type EspMqttConfig,
  mqttConfigSchema,
  type MqttConfigSection,
  type MqttSigner,
  MqttSink,
  type MqttSinkOptions,
  mqttSinkOptionsFromConfig,
  type MqttSinkStats,
  type MqttTlsOptions,
} from "./sinks/mqtt.ts";
export type { DatapointSink, VecEvent } from "./sinks/types.ts";
export {
  parseVissRequests,
  VissSource,
  type VissSourceOptions,
  type VissSourceStats,
  type VissSubscribeRequest,
  vissUrl,
} from "./sources/viss.ts";
