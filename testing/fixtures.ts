/**
 * Small fixtures shared by end-to-end tests: candump lines of the bundled Model 3 DBC with chosen signal values, OVDS
 * rows read back with node:sqlite, and a polling wait.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { encodeReference, type MessageDef, parseDbc } from "../core/can/mod.ts";

const dbc = parseDbc(Deno.readTextFileSync(new URL("../assets/dbc/Model3CAN.dbc", import.meta.url)));

/** A Model 3 message by its frame id. */
export function model3Message(id: number): MessageDef {
  const m = dbc.messages.find((x) => x.id === id);
  if (!m) throw new Error(`Model3CAN.dbc has no message ${id}`);
  return m;
}

/** Upper-case hex of bytes, as candump writes them. */
export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, "0").toUpperCase()).join("");
}

/** The `ID#DATA` part of a candump line for `message` with `values` (other signals at their lowest raw value). */
export function candumpFrame(message: MessageDef, values: Record<string, number>): string {
  const all = Object.fromEntries(message.signals.map((s) => [s.name, Math.max(0, s.offset)]));
  const id = message.id.toString(16).toUpperCase().padStart(3, "0");
  return `${id}#${hexBytes(encodeReference(message, { ...all, ...values }))}`;
}

/** `[timestamp, value]` rows of one VSS path of one vehicle in an OVDS file, in insertion order. */
export function ovdsRows(db: string, vin: string, path: string): [string, string][] {
  const sqlite = new DatabaseSync(db, { readOnly: true });
  try {
    const row = sqlite.prepare("SELECT vin_id FROM VIN_TIV WHERE vin = ?").get(vin) as { vin_id: number } | undefined;
    if (!row) return [];
    const rows = sqlite.prepare(`SELECT timestamp, value FROM TV_${row.vin_id} WHERE path = ? ORDER BY rowid`)
      .all(path) as { timestamp: string; value: string }[];
    return rows.map((r) => [r.timestamp, r.value]);
  } finally {
    sqlite.close();
  }
}

/**
 * Polls `cond` (which may be async) every 5 ms until it holds; throws naming `what` after `ms`
 * (default 20 s: only a failing test waits that long). Not a timing assertion.
 */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
