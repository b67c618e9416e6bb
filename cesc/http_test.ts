import assert from "node:assert/strict";
import { createLogger } from "../core/log/mod.ts";
import { errorResponse, json, Router, serveHttp } from "./http.ts";

/** Sends raw HTTP/1.1 `requests` over one TCP connection and returns what came back until it closed or idled. */
async function raw(port: number, requests: string[], responses: number): Promise<{ text: string; closed: boolean }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buf = new Uint8Array(65536);
  let text = "";
  let closed = false;
  try {
    await conn.write(new TextEncoder().encode(requests.join("")));
    while ((text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length < responses || !/\r\n\r\n[\s\S]*$/.test(text)) {
      const n = await conn.read(buf);
      if (n === null) {
        closed = true;
        break;
      }
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    if (!closed) {
      // Ask for one more answer on the same connection: a closed one gives EOF.
      await conn.write(new TextEncoder().encode("GET /x/ping HTTP/1.1\r\nhost: x\r\n\r\n")).catch(() => closed = true);
      const n = await conn.read(buf).catch(() => null);
      if (n === null) closed = true;
      else text += new TextDecoder().decode(buf.subarray(0, n));
    }
  } finally {
    conn.close();
  }
  return { text, closed };
}

const post = (path: string, body: string) =>
  `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${
    new TextEncoder().encode(body).byteLength
  }\r\n\r\n${body}`;

async function withServer(fn: (port: number, logged: string[]) => Promise<void>): Promise<void> {
  const logged: string[] = [];
  const router = new Router()
    .post("/echo", async (req) => {
      const body = await req.body(1024);
      if (body === null) return { ...errorResponse(413, "http.body_too_large", "too large"), close: true };
      return json(200, { bytes: body.byteLength, target: req.target, q: req.query("q") ?? null });
    })
    .get("/x/:name", (req) => json(200, { name: req.params.name }))
    .get("/boom", () => {
      throw new Error("handler bug");
    });
  const listener = await serveHttp((req) => router.handle(req), {
    port: 0,
    hostname: "127.0.0.1",
    log: createLogger("t", { sink: { write: (l) => logged.push(l) } }),
  });
  try {
    await fn(listener.port, logged);
  } finally {
    await listener.close();
  }
}

Deno.test("cesc http: keep-alive across requests with bodies larger than 500 bytes", async () => {
  await withServer(async (port) => {
    const body = JSON.stringify({ pad: "x".repeat(900) });
    const r = await raw(port, [post("/echo?q=1", body), post("/echo", body)], 2);
    assert.equal((r.text.match(/HTTP\/1\.1 200/g) ?? []).length, 3, r.text); // two POSTs and the GET after them
    assert.doesNotMatch(r.text, /connection: close/i);
    assert.match(r.text, /"target":"\/echo\?q=1","q":"1"/);
    assert.match(r.text, /\{"name":"ping"\}/);
    assert.equal(r.closed, false);
  });
});

Deno.test("cesc http: routes, params, 404, 405 with Allow, 413 closes, a handler failure is a logged 500", async () => {
  await withServer(async (port, logged) => {
    const url = `http://127.0.0.1:${port}`;
    assert.deepEqual(await (await fetch(`${url}/x/a%20b`)).json(), { name: "a b" });
    const nf = await fetch(`${url}/nope`);
    assert.equal(nf.status, 404);
    assert.equal((await nf.json()).error.code, "http.not_found");
    const na = await fetch(`${url}/echo`);
    assert.equal(na.status, 405);
    assert.equal(na.headers.get("allow"), "POST");
    await na.body?.cancel();
    const boom = await fetch(`${url}/boom`);
    assert.equal(boom.status, 500);
    assert.equal((await boom.json()).error.code, "internal");
    assert.ok(logged.some((l) => /request failed/.test(l) && /handler bug/.test(l)), logged.join("\n"));
    // Over the limit: answered 413 and the connection is closed (the rest of the body is never read).
    const big = await raw(port, [post("/echo", "y".repeat(5000))], 1);
    assert.match(big.text, /^HTTP\/1\.1 413/);
    assert.match(big.text, /connection: close/i);
    assert.equal(big.closed, true);
  });
});
