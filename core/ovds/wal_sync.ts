import { dirname } from "node:path";
import { PipelineError } from "../errors/mod.ts";

/** Flushes a file to stable storage (fsync). */
export type FileSync = (file: Deno.FsFile) => Promise<void>;

/** Options for {@link WalSyncer}. */
export interface WalSyncerOptions {
  /** How a file is flushed; default `file.syncData()` (fdatasync(2) on a blocking-pool thread). Tests inject faults. */
  sync?: FileSync;
  /** Called after each completed fsync with its duration and the number of commits it made durable (metrics). */
  onSync?: (seconds: number, commits: number) => void;
}

/**
 * Group fsync of a SQLite write-ahead log, off the event loop.
 *
 * The writer commits with `synchronous=NORMAL` (the commit writes the WAL frames into the page cache
 * and returns) and then awaits {@link WalSyncer.sync}: it resolves once an fsync of the `-wal` file
 * that *started after the call* has completed, so every transaction committed before the call is on
 * stable storage, exactly as `synchronous=FULL` would guarantee. Unlike FULL, the event loop keeps
 * parsing and committing the next requests while the disk flushes, and all commits that happen
 * during one fsync share the next one.
 *
 * Why this is as durable as FULL for acknowledged data: WAL frames carry the header's salt and a
 * cumulative checksum, so after a power loss recovery keeps the longest valid prefix of commits. A
 * commit is acknowledged only after an fsync that covered its frames and everything before them.
 * Frames of earlier WAL generations were copied into the database and the database fsynced by the
 * checkpoint before the WAL was reused (SQLite does that in NORMAL mode too).
 *
 * After a failed fsync the kernel may have dropped the dirty pages, so a later "successful" fsync
 * proves nothing: the syncer stays failed and every later call rejects (restart the service).
 */
export class WalSyncer {
  #walPath: string;
  #sync: FileSync;
  #onSync?: (seconds: number, commits: number) => void;
  #file?: Deno.FsFile;
  #waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #running?: Promise<void>;
  #failed?: PipelineError;

  /**
   * @param dbPath the SQLite database file; the WAL is `<dbPath>-wal`
   * @param options test hooks
   */
  constructor(dbPath: string, options: WalSyncerOptions = {}) {
    this.#walPath = `${dbPath}-wal`;
    this.#sync = options.sync ?? ((f) => f.syncData());
    this.#onSync = options.onSync;
    // The WAL's directory entry must be durable too (SQLite's FULL mode syncs the directory once).
    const dir = Deno.openSync(dirname(dbPath), { read: true });
    try {
      dir.syncSync();
    } finally {
      dir.close();
    }
  }

  /** The error that stopped the syncer, if any. */
  get failed(): PipelineError | undefined {
    return this.#failed;
  }

  /** Resolves when everything committed before this call is on stable storage. */
  sync(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
      // A caller that arrived after the loop's last check and before this callback.
      if (this.#waiters.length > 0) this.#kick();
    });
  }

  async #loop(): Promise<void> {
    while (this.#waiters.length > 0) {
      // Everyone waiting now committed before this fsync starts; later callers wait for the next one.
      const batch = this.#waiters.splice(0);
      try {
        const t0 = performance.now();
        await this.#sync(this.#walFile());
        this.#onSync?.((performance.now() - t0) / 1000, batch.length);
      } catch (e) {
        this.#failed = new PipelineError(
          "ovds.fsync",
          `flushing the OVDS write-ahead log ${this.#walPath} to disk failed: ${(e as Error).message}; ` +
            "data committed since the last flush may be lost, restart the CESC",
          { path: this.#walPath, cause: e },
        );
        for (const w of [...batch, ...this.#waiters.splice(0)]) w.reject(this.#failed);
        return;
      }
      for (const w of batch) w.resolve();
    }
  }

  /**
   * The WAL file, opened on first use. SQLite deletes or replaces the `-wal` file only when the last
   * connection closes, and the store's own connection outlives this syncer, so one handle is enough.
   */
  #walFile(): Deno.FsFile {
    return this.#file ??= Deno.openSync(this.#walPath, { read: true });
  }

  /** Waits for a running fsync (its callers get their answer), then closes the WAL file handle. */
  async close(): Promise<void> {
    await this.#running;
    this.#file?.close();
    this.#file = undefined;
  }
}
