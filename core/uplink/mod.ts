/**
 * The uplink layer: **encoder → durable queue → sender**, the shape of FleetWise Edge (its `ISender` transports
 * apart from serialization and store-and-forward). Every way out of the vehicle (CESC push over HTTP, MQTT, a Kafka
 * producer later) is a {@link Transport} on it; nothing else about delivery is written twice.
 *
 * - {@link MessageEncoder}: a batch of typed datapoints → one body, once per batch ({@link vissJsonEncoder},
 *   {@link avroContainerEncoder}); `decode` reads a body back in the receiver's index order.
 * - {@link DatapointBatcher}: batches by count (`maxDatapoints`) and age (`maxMs`), held while there is no VIN.
 * - `core/queue` {@link MessageQueue}: the durable queue, bounded in bytes and age; each message is pushed with its
 *   datapoint count as weight, so what a full queue drops is counted (and logged) in datapoints.
 * - {@link Forwarder}: the sender loop. Queue order, at most `maxInflight` messages unanswered, at most
 *   `ratePerSec` ({@link TokenBucket}), full-jitter exponential {@link Backoff} on transient failures, a message
 *   leaves the queue only when acknowledged (at-least-once) or refused for good. A refusal that names datapoints
 *   (the CESC's `viss.refused` 400) drops only those: the rest is re-encoded in place and resent.
 * - {@link DropLog}: every datapoint given up on, by reason (`queue_bytes`, `queue_age`, `refused`, `no_vin`,
 *   `offline`, …), logged at once and then at most once per reason and minute.
 * - {@link UplinkSink}: batcher + encoder + queue + forwarder as one `DatapointSink` for batch transports (the CESC).
 *   The MQTT sink (one message per datapoint, per-topic QoS) uses the queue and the forwarder directly.
 *
 * A transport implements `isAlive()` and `send(message, done)`, and calls `done` once with {@link ACK},
 * `{kind: "refused", reason, refusals?}` (permanent) or `{kind: "retry", reason, retryAfterMs?}` (transient). It owns
 * its connection and its timeouts, nothing else.
 *
 * ## Adding a Kafka sink
 *
 * 1. `vec/sinks/kafka.ts`: `class KafkaTransport implements Transport` whose `send` produces `message.body` to the
 *    configured topic (key: the VIN) and calls `done(ACK)` on the broker's ack, `done({kind: "retry", reason})` on
 *    retriable errors, `done({kind: "refused", reason})` on permanent ones (record too large, not authorized).
 * 2. Its config section (a zod schema beside it, e.g. `kafka: {brokers, topic, tls}`) in the VEC's config schema.
 * 3. One branch in `vec/uplinks.ts` `buildSinks`: `new UplinkSink({ name: "kafka", queue, transport, encoder:
 *    vissJsonEncoder })` over its own queue (`<queue.dir>/kafka-queue.db`). Batching, the durable queue, backoff,
 *    the inflight window, acks, drop accounting, `/health` and `/metrics` counters come with it.
 *
 * @example
 * ```ts
 * import { MemoryQueue } from "../queue/mod.ts";
 * import { ACK, type Transport, UplinkSink, vissJsonEncoder } from "./mod.ts";
 * const bodies: string[] = [];
 * const transport: Transport = {
 *   name: "memory",
 *   isAlive: () => true,
 *   send(message, done) {
 *     bodies.push(message.body as string);
 *     done(ACK);
 *   },
 * };
 * const sink = new UplinkSink({
 *   name: "memory",
 *   queue: new MemoryQueue({ maxBytes: 1 << 20 }),
 *   transport,
 *   encoder: vissJsonEncoder,
 *   vin: "VIN0001",
 *   batchMaxDatapoints: 2,
 * });
 * sink.start();
 * sink.write([
 *   { path: "Vehicle.Speed", value: 55, tsMs: 1_700_000_000_000 },
 *   { path: "Vehicle.Speed", value: 56, tsMs: 1_700_000_000_100 },
 * ]);
 * await sink.close({ drainMs: 1000 });
 * console.log(bodies[0]);
 * // {"vin":"VIN0001","data":[{"path":"Vehicle.Speed","dp":[{"value":"55","ts":"2023-11-14T22:13:20.000Z"},…]}]}
 * console.log(sink.stats().sentDatapoints); // 2
 * ```
 * @module
 */
export {
  ACK,
  type AckOutcome,
  type DecodedMessage,
  type EncodeOptions,
  type MessageEncoder,
  type OutboundMessage,
  type RefusedOutcome,
  type RetryOutcome,
  type SendCallback,
  type SendOutcome,
  type Transport,
} from "./types.ts";
export { Backoff, backoffDelay, type BackoffOptions, fullJitterDelay } from "./backoff.ts";
export { TokenBucket, type TokenBucketOptions } from "./rate.ts";
export { DropLog, type DropLogOptions, type DropReason } from "./drops.ts";
export { type BatcherOptions, DatapointBatcher } from "./batcher.ts";
export { Forwarder, type ForwarderOptions, type ForwarderState, type ForwarderStats } from "./forwarder.ts";
export { UplinkSink, type UplinkSinkOptions, type UplinkSinkStats } from "./sink.ts";
export { avroContainerEncoder, vissJsonEncoder } from "./encoders.ts";
