import { PipelineError } from "../../core/errors/mod.ts";
import type { StoredRow } from "../../core/ovds/mod.ts";

/** Rows the backend refused for good (HTTP 400, or 413 for a single record), to be dead-lettered. */
export interface Rejected {
  /** The rows behind the refused records. */
  rows: StoredRow[];
  /** Why, e.g. `http 400: <body>`. */
  reason: string;
}

/** What happened to one {@link ForwardBackend.send} call that did not throw. */
export interface SendOutcome {
  /** Rows whose records the backend accepted. */
  delivered: number;
  /** Rows refused for good; the forwarder dead-letters them and moves on. */
  rejected: Rejected[];
  /** Rows with no record (unmapped path, unconvertible value, GPS half waiting for its pair). */
  skipped: number;
}

/** A backend that receives forwarded data points. Implementations: DIG, generic HTTP, none. */
export interface ForwardBackend {
  /** `dig`, `http` or `none`. */
  readonly name: string;
  /**
   * Sends one vehicle's rows (in row-id order). Resolves when every record is either accepted or
   * refused for good; throws {@link RetryableError} when the call must be repeated later
   * (429, 5xx, network, authentication). The forwarder moves the watermark only after it resolves.
   */
  send(vin: string, rows: readonly StoredRow[]): Promise<SendOutcome>;
  /** A short state for `/health`: `ok`, `retrying`, `auth_failed`, `idle`. */
  state(): string;
  /** Releases resources. */
  close(): Promise<void>;
}

/** A failure worth retrying with backoff: nothing was lost, the rows stay above the watermark. */
export class RetryableError extends PipelineError {
  /** Server-requested delay (Retry-After), when given. */
  readonly retryAfterMs?: number;
  /** Metric label: `http_429`, `http_5xx`, `network`, `auth`, `http_4xx`. */
  readonly kind: string;

  /**
   * @param kind metric label
   * @param message what failed
   */
  constructor(kind: string, message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(`backend.${kind}`, message, { cause: options.cause });
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs;
  }
}
