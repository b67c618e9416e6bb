import type { StoredRow } from "../../core/ovds/mod.ts";
import type { ForwardBackend, SendOutcome } from "./types.ts";

/** A backend that accepts everything and sends nothing (store-only deployments, tests). */
export function createNoneBackend(): ForwardBackend {
  return {
    name: "none",
    send(_vin: string, rows: readonly StoredRow[]): Promise<SendOutcome> {
      return Promise.resolve({ delivered: rows.length, rejected: [], skipped: 0 });
    },
    state: () => "ok",
    close: () => Promise.resolve(),
  };
}
