import { PipelineError } from "../errors/mod.ts";
import type { TimeMigration } from "./migrate.ts";
import type { SqliteStoreOptions } from "./sqlite_store.ts";
import type {
  DeadLetter,
  InsertResult,
  OvdsStore,
  StoredRow,
  UnforwardedOptions,
  VehicleBatch,
  VehicleInfo,
} from "./store.ts";

type Reply = { id: number; ok: true; value: unknown } | {
  id: number;
  ok: false;
  error: { code: string; message: string; path?: string };
};

class WorkerStore implements OvdsStore {
  #worker: Worker;
  #next = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #closed = false;

  constructor() {
    this.#worker = new Worker(new URL("./sqlite_worker.ts", import.meta.url).href, { type: "module" });
    this.#worker.onmessage = (ev: MessageEvent<Reply>) => {
      const r = ev.data;
      const p = this.#pending.get(r.id);
      if (!p) return;
      this.#pending.delete(r.id);
      if (r.ok) p.resolve(r.value);
      else p.reject(new PipelineError(r.error.code, r.error.message, { path: r.error.path }));
    };
    this.#worker.onerror = (ev) => {
      ev.preventDefault();
      const e = new PipelineError("ovds.worker", `the SQLite worker failed: ${ev.message}`);
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    };
  }

  call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(new PipelineError("ovds.closed", "the OVDS store is closed"));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }

  insertBatches(batches: readonly VehicleBatch[]): Promise<InsertResult> {
    return this.call("insertBatches", batches);
  }
  unforwarded(vin: string, options: UnforwardedOptions): Promise<StoredRow[]> {
    return this.call("unforwarded", vin, options);
  }
  advanceWatermark(vin: string, rowId: number): Promise<void> {
    return this.call("advanceWatermark", vin, rowId);
  }
  deadLetter(vin: string, rows: readonly StoredRow[], options: { reason: string }): Promise<void> {
    return this.call("deadLetter", vin, rows, options);
  }
  deadLetters(options?: { limit?: number }): Promise<DeadLetter[]> {
    return this.call("deadLetters", options);
  }
  vehicles(): Promise<VehicleInfo[]> {
    return this.call("vehicles");
  }
  applyRetention(maxAgeMs: number, options?: { now?: Date }): Promise<number> {
    return this.call("applyRetention", maxAgeMs, options);
  }
  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      return await this.call<boolean>("ping");
    } catch {
      return false;
    }
  }
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.call("close");
    } finally {
      this.#closed = true;
      this.#worker.terminate();
    }
  }
}

/**
 * Opens the SQLite OVDS store in a Worker, so that commits (and their fsync) do not block the
 * event loop: requests keep being parsed while a group commit is on disk. Same semantics as
 * {@link openSqliteStore}, except that `walSync` and `onWalSync` (functions) are not used in the Worker.
 */
export async function openSqliteStoreInWorker(path: string, options: SqliteStoreOptions = {}): Promise<OvdsStore> {
  const store = new WorkerStore();
  // Functions cannot be posted to the Worker: callbacks stay here (`onMigrated` gets the worker's answer).
  const { onMigrated, walSync: _s, onWalSync: _o, ...plain } = options;
  try {
    const migration = await store.call<TimeMigration>("open", path, plain);
    onMigrated?.(migration);
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }
  return store;
}
