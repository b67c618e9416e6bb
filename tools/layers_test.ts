import assert from "node:assert/strict";
import { folderOf, layerViolations } from "./layers.ts";

Deno.test("layers: wasm is a leaf, core imports no service, no folder cycles, folders meet through mod.ts", () => {
  assert.deepEqual(layerViolations(), []);
});

Deno.test("layers: the check finds each kind of violation", () => {
  const v = layerViolations([
    { from: "wasm/loader.ts", to: "core/errors/mod.ts" },
    { from: "core/can/plan.ts", to: "vec/app.ts" },
    { from: "core/vss/mapping.ts", to: "core/can/mod.ts" },
    { from: "core/can/dbc.ts", to: "core/vss/catalog.ts" },
    { from: "cesc/server.ts", to: "testing/mod.ts" },
    { from: "core/ovds/store_test.ts", to: "testing/mod.ts" },
  ]);
  assert.equal(v.length, 5, v.join("\n"));
  assert.ok(v.some((l) => l.startsWith("wasm/ is a leaf")));
  assert.ok(v.some((l) => l.startsWith("core imports a service")));
  assert.ok(v.some((l) => l.includes("not core/vss/mod.ts")));
  assert.ok(v.some((l) => l.startsWith("folder cycle: ")));
  assert.ok(v.some((l) => l.startsWith("production code imports testing/")));
  assert.equal(folderOf("core/can/plan.ts"), "core/can");
  assert.equal(folderOf("vec/sinks/cesc.ts"), "vec");
});
