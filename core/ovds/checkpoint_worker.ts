/**
 * Runs WAL checkpoints of an OVDS file on its own connection and thread, so that the writer's commits
 * never pay for copying the log into the database (and that copy's fsync). Started by
 * `openSqliteStore(path, { checkpointInWorker: true })`. Message `{path, intervalMs}` starts it.
 * @module
 */
/// <reference lib="deno.worker" />
import { DatabaseSync } from "node:sqlite";

let timer: ReturnType<typeof setInterval> | undefined;
self.onmessage = (ev: MessageEvent) => {
  const { path, intervalMs, stop } = ev.data as { path: string; intervalMs: number; stop?: boolean };
  if (stop) {
    if (timer !== undefined) clearInterval(timer);
    self.postMessage("stopped");
    return;
  }
  const db = new DatabaseSync(path);
  db.exec("PRAGMA busy_timeout=1000");
  timer = setInterval(() => {
    try {
      db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    } catch {
      // busy: the next tick tries again
    }
  }, intervalMs);
  self.postMessage("started");
};
