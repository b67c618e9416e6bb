/**
 * The contracts of the uplink layer: a {@link Transport} sends one encoded message and answers with a
 * {@link SendOutcome}; a {@link MessageEncoder} turns a batch of datapoints into one message (and back, so that a
 * partly refused message can be re-encoded without the refused datapoints).
 * @module
 */
import type { Datapoint, Refusal } from "../datapoint/mod.ts";
import type { QueueMeta, QueuePayload } from "../queue/mod.ts";

/** One encoded message on its way out: a queued item as a transport sees it. */
export interface OutboundMessage {
  /** The queue id (order of enqueueing). */
  readonly id: number;
  /** The encoded body. */
  readonly body: QueuePayload;
  /** The queue key, when the producer gave one (the MQTT topic). */
  readonly key?: string;
  /** Transport options stored with the message (MQTT `qos`/`retain`, HTTP `contentType`). */
  readonly meta?: QueueMeta;
  /** Datapoints the message carries (its queue weight). */
  readonly datapoints: number;
}

/** The receiver took the message. */
export interface AckOutcome {
  /** Discriminant. */
  readonly kind: "ack";
}

/**
 * The receiver refused the message for good (resending it unchanged would be refused again). With `refusals`, only
 * the datapoints at those indices (the order {@link MessageEncoder.decode} returns) were refused: the layer drops
 * them and resends the rest. Without, the whole message is dropped.
 */
export interface RefusedOutcome {
  /** Discriminant. */
  readonly kind: "refused";
  /** Why, for a person (e.g. `HTTP 413: …`). */
  readonly reason: string;
  /** The refused datapoints, when the receiver named them. */
  readonly refusals?: readonly Refusal[];
}

/** A transient failure: the message (and everything after it) is sent again after a backoff. */
export interface RetryOutcome {
  /** Discriminant. */
  readonly kind: "retry";
  /** Why, for a person. */
  readonly reason: string;
  /** The receiver asked to wait at least this long (HTTP `Retry-After`). */
  readonly retryAfterMs?: number;
}

/** What a send ended in. */
export type SendOutcome = AckOutcome | RefusedOutcome | RetryOutcome;

/** Called once per send with its outcome (possibly before `send` returns). */
export type SendCallback = (outcome: SendOutcome) => void;

/** The outcome of every successful send (one shared object, nothing allocated per message). */
export const ACK: AckOutcome = Object.freeze({ kind: "ack" });

/**
 * A way out of the vehicle (as FleetWise Edge's `ISender`): it sends one encoded message and tells how that ended.
 * It knows nothing of batching, queues or retries; the layer ({@link Forwarder}) does those.
 */
export interface Transport {
  /** Name in logs. */
  readonly name: string;
  /** True while the transport can send (connected); the layer sends nothing while false. */
  isAlive(): boolean;
  /**
   * Sends one message; calls `done` exactly once, also when the connection goes away (then with `retry`). Every
   * send must settle: the transport owns its timeouts.
   */
  send(message: OutboundMessage, done: SendCallback): void;
  /** Registers the layer's wake-up for when the transport becomes alive again (e.g. MQTT reconnected). */
  onAlive?(listener: () => void): void;
}

/** A message read back by {@link MessageEncoder.decode}. */
export interface DecodedMessage {
  /** The VIN the message carried. */
  vin: string;
  /** The datapoints in the receiver's index order; `undefined` where one could not be read back. */
  datapoints: (Datapoint | undefined)[];
}

/** Options of {@link MessageEncoder.encode}. */
export interface EncodeOptions {
  /**
   * When given, datapoints the encoding cannot carry are left out and listed here (index into the batch) instead of
   * failing the whole batch (encoders that can carry everything ignore it).
   */
  refusals?: Refusal[];
}

/** Turns a batch of datapoints into one message body (once per batch). */
export interface MessageEncoder {
  /** MIME type of the bodies (HTTP `content-type`). */
  readonly contentType: string;
  /** Encodes `datapoints` of vehicle `vin` into one body. */
  encode(vin: string, datapoints: readonly Datapoint[], options?: EncodeOptions): Uint8Array | string;
  /**
   * Reads a body back, in the order the receiver numbers its datapoints in refusals. Without it, a partly refused
   * message is dropped whole.
   */
  decode?(body: QueuePayload): DecodedMessage;
}
