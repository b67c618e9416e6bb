/**
 * Mutated or truncated AVRO bodies raise `PipelineError` (`codec.avro` from `parseAvroIngest`, a 400 at the CESC),
 * never a TypeError or RangeError (a 500).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Datapoint, DatapointValidator } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";
import { catalogFromMap, catalogSchema, decodeAvroPayload, encodeDatapointsAvro, parseAvroIngest } from "./mod.ts";

const catalog = catalogFromMap({
  "Vehicle.Speed": "float",
  "Vehicle.Gear": "int8",
  "Vehicle.Odo": "uint32",
  "Vehicle.Big": "int64",
  "Vehicle.Lat": "double",
  "Vehicle.Vin": "string",
  "Vehicle.Parked": "boolean",
  "Vehicle.Codes": "string[]",
});
const validator = new DatapointValidator(catalogSchema(catalog));
const T0 = Date.UTC(2026, 0, 1);

const dpArb: fc.Arbitrary<Datapoint> = fc.oneof(
  fc.record({ path: fc.constant("Vehicle.Speed"), value: fc.integer({ min: -300, max: 300 }) }),
  fc.record({ path: fc.constant("Vehicle.Gear"), value: fc.integer({ min: -128, max: 127 }) }),
  fc.record({ path: fc.constant("Vehicle.Odo"), value: fc.nat() }),
  fc.record({ path: fc.constant("Vehicle.Big"), value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) }),
  fc.record({ path: fc.constant("Vehicle.Lat"), value: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
  fc.record({ path: fc.constant("Vehicle.Vin"), value: fc.string({ maxLength: 20 }) }),
  fc.record({ path: fc.constant("Vehicle.Parked"), value: fc.boolean() }),
  fc.record({ path: fc.constant("Vehicle.Codes"), value: fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }) }),
).chain((d) => fc.integer({ min: 0, max: 1e6 }).map((dt) => ({ ...d, tsMs: T0 + dt } as Datapoint)));

type Mutation =
  | { kind: "flip"; at: number; xor: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; byte: number }
  | { kind: "delete"; at: number }
  | { kind: "set"; at: number; byte: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.constantFrom(0x00, 0x7f, 0x80, 0xff) }),
);

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = bytes.slice();
  for (const m of mutations) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case "flip":
        b[at] ^= m.xor;
        break;
      case "set":
        b[at] = m.byte;
        break;
      case "truncate":
        b = b.slice(0, at);
        break;
      case "insert":
        b = new Uint8Array([...b.subarray(0, at), m.byte, ...b.subarray(at)]);
        break;
      case "delete":
        b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + 1)]);
        break;
    }
  }
  return b;
}

function onlyPipelineErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof PipelineError)) {
      assert.fail(`expected a PipelineError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
    }
    assert.match(e.code, /^(codec\.avro|codec\.too_many|viss\.vin)$/, e.message);
  }
}

Deno.test("mutated and truncated AVRO bodies raise PipelineError codec.avro only (property)", () => {
  fc.assert(
    fc.property(
      fc.array(dpArb, { minLength: 1, maxLength: 12 }),
      fc.constantFrom("binary", "container-deflate", "container-null"),
      fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
      (dps, framing, mutations) => {
        const good = framing === "binary" ? encodeDatapointsAvro(dps, catalog) : encodeDatapointsAvro(dps, catalog, {
          framing: "container",
          codec: framing === "container-null" ? "null" : "deflate",
          vin: "VIN1",
        });
        const bad = mutate(good, mutations);
        onlyPipelineErrors(() => parseAvroIngest(bad, validator, { vin: "VIN1", maxDatapoints: 1000 }));
        onlyPipelineErrors(() => parseAvroIngest(bad, validator, { vin: "VIN1" }));
        try {
          decodeAvroPayload(bad);
        } catch (e) {
          assert.ok(e instanceof PipelineError, `decodeAvroPayload: ${(e as Error)?.name}: ${(e as Error)?.message}`);
        }
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("every truncation of a valid body is a PipelineError or a valid prefix, never a crash", () => {
  const dps: Datapoint[] = [
    { path: "Vehicle.Speed", value: 1, tsMs: T0 },
    { path: "Vehicle.Speed", value: 2, tsMs: T0 + 1 },
    { path: "Vehicle.Big", value: 2n ** 62n, tsMs: T0 },
    { path: "Vehicle.Codes", value: ["P0100"], tsMs: T0 },
  ];
  for (const framing of ["binary", "container"] as const) {
    const good = encodeDatapointsAvro(dps, catalog, framing === "binary" ? {} : { framing, vin: "VIN1" });
    for (let n = 0; n < good.length; n++) {
      onlyPipelineErrors(() => parseAvroIngest(good.subarray(0, n), validator, { vin: "V" }));
    }
    assert.equal(parseAvroIngest(good, validator, { vin: "VIN1" }).datapoints.length, 4);
  }
  // random bytes, too
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      onlyPipelineErrors(() => parseAvroIngest(bytes, validator, { vin: "V" }));
      const container = new Uint8Array([0x4f, 0x62, 0x6a, 0x01, ...bytes]);
      onlyPipelineErrors(() => parseAvroIngest(container, validator, { vin: "V" }));
    }),
    { numRuns: 2000 },
  );
});
