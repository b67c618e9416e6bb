import assert from "node:assert/strict";
import { ParseError, PipelineError } from "../errors/mod.ts";
import { loadVssCatalog } from "./mod.ts";

const RELEASE = new URL("../../assets/vss/vss_release_4.0.json", import.meta.url);

Deno.test("catalog: VSS 4.0 release flattens to its leaves", () => {
  const catalog = loadVssCatalog(RELEASE);
  assert.equal(catalog.size, 910);
  assert.deepEqual(catalog.get("Vehicle.Speed"), {
    path: "Vehicle.Speed",
    datatype: "float",
    type: "sensor",
    unit: "km/h",
    description: catalog.get("Vehicle.Speed")!.description,
  });
  const brake = catalog.get("Vehicle.Body.Lights.Brake.IsActive")!;
  assert.equal(brake.type, "actuator");
  assert.deepEqual(brake.allowed, ["INACTIVE", "ACTIVE", "ADAPTIVE"]);
  const pan = catalog.get("Vehicle.Body.Mirrors.DriverSide.Pan")!;
  assert.equal(pan.datatype, "int8");
  assert.equal(pan.min, -100);
  assert.equal(pan.max, 100);
  assert.equal(catalog.get("Vehicle.VehicleIdentification.VIN")?.type, "attribute");
  // branches are not leaves
  assert.equal(catalog.has("Vehicle.Body"), false);
  assert.equal(catalog.get("Vehicle"), undefined);
  assert.equal(catalog.get("Vehicle.NoSuchThing"), undefined);
  assert.equal([...catalog.paths()].length, 910);
});

Deno.test("catalog: accepts a path string, JSON text and a parsed object", () => {
  const text = Deno.readTextFileSync(RELEASE);
  const fromPath = loadVssCatalog(RELEASE.pathname);
  const fromText = loadVssCatalog(text);
  const fromObject = loadVssCatalog(JSON.parse(text));
  for (const c of [fromPath, fromText, fromObject]) {
    assert.equal(c.size, 910);
    assert.equal(c.get("Vehicle.OBD.Speed")?.unit, "km/h");
  }
});

Deno.test("catalog: errors name the file and the problem", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vss_catalog_" });
  try {
    const missing = `${dir}/nope.json`;
    assert.throws(() => loadVssCatalog(missing), (e: unknown) => {
      assert.ok(e instanceof PipelineError);
      assert.equal(e.code, "vss.catalog.read");
      assert.match(e.message, /nope\.json/);
      return true;
    });

    const bad = `${dir}/bad.json`;
    await Deno.writeTextFile(bad, '{\n  "Vehicle": {\n    "type": "branch",, \n  }\n}\n');
    assert.throws(() => loadVssCatalog(bad), (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.code, "vss.catalog.json");
      assert.equal(e.line, 3);
      assert.match(e.message, /bad\.json:3:\d+: invalid JSON/);
      return true;
    });

    assert.throws(() => loadVssCatalog({ foo: 1 }), (e: unknown) => {
      assert.ok(e instanceof PipelineError);
      assert.equal(e.code, "vss.catalog.invalid");
      assert.match(e.message, /no VSS leaves/);
      return true;
    });

    const weird = { A: { type: "branch", children: { B: { type: "sensor", datatype: "complex128" } } } };
    assert.throws(() => loadVssCatalog(weird), (e: unknown) => {
      assert.ok(e instanceof PipelineError);
      assert.equal(e.code, "vss.catalog.invalid");
      assert.match(e.message, /A\.B: unknown datatype "complex128"/);
      return true;
    });

    assert.throws(() => loadVssCatalog("{ nope"), ParseError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
