import assert from "node:assert/strict";
import { DatapointValidator } from "../datapoint/mod.ts";
import { ParseError, PipelineError } from "../errors/mod.ts";
import { catalogFromMap, catalogSchema, datapointsToVissJson, parseVissJson } from "./mod.ts";

const TS = "2026-11-23T10:00:00.000Z";
const MS = Date.parse(TS);

Deno.test("parseVissJson accepts datapoint arrays, VISSv2 data objects and messages; values typed", () => {
  const shapes = [
    JSON.stringify([{ path: "A.B", value: "1", ts: TS }]),
    JSON.stringify({ path: "A.B", value: "1", ts: TS }),
    JSON.stringify({ path: "A.B", dp: { value: "1", ts: TS } }),
    JSON.stringify({ path: "A.B", dp: [{ value: "1", ts: "2026-11-23T11:00:00+01:00" }] }),
    JSON.stringify({ action: "get", requestId: "1", data: { path: "A.B", dp: { value: "1", ts: TS } } }),
    JSON.stringify({ action: "subscription", data: [{ path: "A.B", dp: [{ value: 1, ts: TS }] }] }),
  ];
  const validator = new DatapointValidator(catalogSchema(catalogFromMap({ "A.B": "uint8", "A.C": "string[]" })));
  for (const text of shapes) {
    assert.deepEqual(parseVissJson(text, { validator }).map((s) => s.datapoint), [
      { path: "A.B", value: 1, tsMs: MS },
    ], text);
  }
  const arr = parseVissJson(JSON.stringify({ path: "A.C", dp: { value: ["x", "y"], ts: TS } }), { validator });
  assert.deepEqual(arr[0].datapoint.value, ["x", "y"]);
  // without a validator, values stay as given (untyped); integers beyond 2^53 keep their digits
  assert.deepEqual(
    parseVissJson(`{"path":"A.D","value":18446744073709551615,"ts":"${TS}"}`)[0].datapoint.value,
    [
      18446744073709551615n,
    ][0],
  );
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
  // issue 18: a missing or bad ts is the validator's refusal (one rule for every input), named by its origin
  assert.throws(
    () => parseVissJson('{"path":"A.B","value":"1"}', { source: "x.json", format: "json" }),
    (e: unknown) =>
      e instanceof PipelineError && e.code === "datapoint.ts" && /^x\.json: A\.B: missing "ts"/.test(e.message),
  );
  assert.throws(
    () => parseVissJson(`{"path":"A.B","dp":[{"value":"1","ts":"${TS}"},{"value":{"a":1},"ts":"${TS}"}]}`),
    (e: unknown) => e instanceof PipelineError && e.code === "datapoint.type" && /<input> dp\[1\]/.test(e.message),
  );
  assert.throws(() => parseVissJson("[1]"), /\[0\]: expected a datapoint object or array, got 1/);
  assert.throws(() => parseVissJson("[12345678901234567890]"), /got 12345678901234567890/);
  assert.throws(() => parseVissJson('{"path": 5}'), /"path" must be a string, got 5/);
});

Deno.test("datapointsToVissJson groups by path in first-seen order, canonical text", () => {
  assert.deepEqual(
    datapointsToVissJson([
      { path: "B", value: 1, tsMs: MS },
      { path: "A", value: true, tsMs: MS },
      { path: "B", value: "3", tsMs: MS + 1 },
    ]),
    {
      data: [
        { path: "B", dp: [{ value: "1", ts: TS }, { value: "3", ts: "2026-11-23T10:00:00.001Z" }] },
        { path: "A", dp: [{ value: "true", ts: TS }] },
      ],
    },
  );
});
