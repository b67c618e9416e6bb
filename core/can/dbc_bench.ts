/**
 * DBC parsing and reference decoding speed over `assets/dbc/Model3CAN.dbc`.
 *
 * Run: `./node_modules/.bin/deno bench -A core/can/dbc_bench.ts`
 * @module
 */
import { parseDbc } from "./dbc.ts";
import { decodeReference } from "./reference.ts";

const text = await Deno.readTextFile(new URL("../../assets/dbc/Model3CAN.dbc", import.meta.url));
const db = parseDbc(text);
const data = new Uint8Array(8).map((_, i) => i * 37 + 11);

Deno.bench("parseDbc: Model3CAN.dbc (159 messages, 2752 signals)", () => {
  parseDbc(text);
});

Deno.bench("decodeReference: one frame of every Model3CAN message (159 frames)", () => {
  for (const m of db.messages) decodeReference(m, data);
});
