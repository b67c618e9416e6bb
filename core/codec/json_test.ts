import assert from "node:assert/strict";
import { ParseError, PipelineError } from "../errors/mod.ts";
import { datapointsToVissJson, parseVissJson } from "./mod.ts";

const TS = "2026-11-23T10:00:00.000Z";

Deno.test("parseVissJson accepts datapoint arrays, VISSv2 data objects and messages", () => {
  const shapes = [
    JSON.stringify([{ path: "A.B", value: "1", ts: TS }]),
    JSON.stringify({ path: "A.B", value: "1", ts: TS }),
    JSON.stringify({ path: "A.B", dp: { value: "1", ts: TS } }),
    JSON.stringify({ path: "A.B", dp: [{ value: "1", ts: TS }] }),
    JSON.stringify({ action: "get", requestId: "1", data: { path: "A.B", dp: { value: "1", ts: TS } } }),
    JSON.stringify({ action: "subscription", data: [{ path: "A.B", dp: [{ value: 1, ts: TS }] }] }),
  ];
  for (const text of shapes) {
    assert.deepEqual(parseVissJson(text).map((s) => s.datapoint), [{ path: "A.B", value: "1", ts: TS }], text);
  }
  const arr = parseVissJson(JSON.stringify({ path: "A.C", dp: { value: ["x", "y"], ts: TS } }));
  assert.deepEqual(arr[0].datapoint.value, ["x", "y"]);
});

Deno.test("parseVissJson reads NDJSON and reports line numbers", () => {
  const text = [
    JSON.stringify({ path: "A.B", value: "1", ts: TS }),
    "",
    JSON.stringify({ path: "A.C", dp: [{ value: "2", ts: TS }, { value: "3", ts: TS }] }),
  ].join("\n");
  const got = parseVissJson(text, { source: "in.ndjson" });
  assert.deepEqual(got.map((s) => s.origin), ["in.ndjson:1", "in.ndjson:3 dp[0]", "in.ndjson:3 dp[1]"]);
  assert.throws(
    () => parseVissJson(`${text}\n{"path": oops}`, { source: "in.ndjson" }),
    (e: unknown) => e instanceof ParseError && e.line === 4 && /^in\.ndjson:4:\d+: invalid JSON/.test(e.message),
  );
  assert.throws(
    () => parseVissJson('{"path":"A.B","value":"1"}', { source: "x.json", format: "json" }),
    (e: unknown) =>
      e instanceof PipelineError && e.code === "codec.shape" &&
      /x\.json ts: expected an ISO 8601 string/.test(e.message),
  );
  assert.throws(() => parseVissJson("[1]"), /\[0\]: expected a datapoint object or array, got 1/);
  assert.throws(() => parseVissJson('{"path": 5}'), /"path" must be a string, got 5/);
});

Deno.test("datapointsToVissJson groups by path in first-seen order", () => {
  assert.deepEqual(
    datapointsToVissJson([
      { path: "B", value: "1", ts: TS },
      { path: "A", value: "2", ts: TS },
      { path: "B", value: "3", ts: TS },
    ]),
    {
      data: [{ path: "B", dp: [{ value: "1", ts: TS }, { value: "3", ts: TS }] }, {
        path: "A",
        dp: [{ value: "2", ts: TS }],
      }],
    },
  );
});
