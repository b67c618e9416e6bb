/**
 * The vehicle edge client (VEC): CAN frames (SocketCAN or a candump replay) or a VISSv2 server in, VSS datapoints
 * out to the CESC (HTTP push over an on-disk queue) and the REST API.
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
export { createVecApi, PUBLISH_ALIASES, publishBodyToDatapoints, type VecApiDeps } from "./api.ts";
export { loadVecConfig, parseVecConfig, redactConfig, type VecConfig, vecConfigSchema } from "./config.ts";
export {
  type DecodeStage,
  type FrameFilter,
  type FrameSource,
  type MapStage,
  Pipeline,
  type PipelineOptions,
  type PipelineStats,
} from "./pipeline.ts";
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
  type SinkDatapoint,
} from "./sinks/mqtt.ts";
export type { DatapointSink, VissDatapoint } from "./sinks/types.ts";
export {
  parseVissRequests,
  VissSource,
  type VissSourceOptions,
  type VissSourceStats,
  type VissSubscribeRequest,
  vissUrl,
} from "./sources/viss.ts";
