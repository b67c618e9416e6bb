/**
 * Worker side of {@link openSqliteStoreInWorker}: owns the SQLite connection so that commits and
 * their fsync run off the main thread. Messages: `{id, method, args}` → `{id, ok, value | error}`.
 * @module
 */
/// <reference lib="deno.worker" />
import type { TimeMigration } from "./migrate.ts";
import { openSqliteStore, type SqliteStoreOptions } from "./sqlite_store.ts";
import type { OvdsStore } from "./store.ts";

let store: OvdsStore | undefined;

self.onmessage = async (ev: MessageEvent) => {
  const { id, method, args } = ev.data as { id: number; method: string; args: unknown[] };
  try {
    let value: unknown;
    if (method === "open") {
      // The migration result goes back as the answer to `open` (functions do not cross to a Worker).
      const options = { ...(args[1] as SqliteStoreOptions), onMigrated: (m: TimeMigration) => value = m };
      store = openSqliteStore(args[0] as string, options);
    } else {
      // deno-lint-ignore no-explicit-any
      value = await (store as any)[method](...args);
    }
    self.postMessage({ id, ok: true, value });
  } catch (e) {
    const err = e as { code?: string; message?: string; path?: string };
    self.postMessage({
      id,
      ok: false,
      error: { code: err.code ?? "ovds.error", message: String(err.message ?? e), path: err.path },
    });
  }
};
