import assert from "node:assert/strict";
import fc from "fast-check";
import { Qos0Writer } from "./mqtt_packet.ts";

function decodeVarint(buf: Uint8Array, off: number): [number, number] {
  let n = 0, mul = 1, b;
  do {
    b = buf[off++];
    n += (b & 0x7f) * mul;
    mul *= 128;
  } while (b & 0x80);
  return [n, off];
}

/** Minimal independent PUBLISH parser (QoS 0) used to check the writer. */
function parse(buf: Uint8Array, version: 4 | 5) {
  const out: { topic: string; body: string; retain: boolean; contentType?: string }[] = [];
  const dec = new TextDecoder();
  let off = 0;
  while (off < buf.length) {
    const h = buf[off++];
    assert.equal(h & 0xf6, 0x30, "PUBLISH QoS 0");
    const [rem, o1] = decodeVarint(buf, off);
    const end = o1 + rem;
    let o = o1;
    const tl = (buf[o] << 8) | buf[o + 1];
    const topic = dec.decode(buf.subarray(o + 2, o + 2 + tl));
    o += 2 + tl;
    let contentType: string | undefined;
    if (version === 5) {
      const [pl, o2] = decodeVarint(buf, o);
      if (pl > 0) {
        assert.equal(buf[o2], 0x03);
        const cl = (buf[o2 + 1] << 8) | buf[o2 + 2];
        contentType = dec.decode(buf.subarray(o2 + 3, o2 + 3 + cl));
      }
      o = o2 + pl;
    }
    out.push({ topic, body: dec.decode(buf.subarray(o, end)), retain: (h & 1) === 1, contentType });
    off = end;
  }
  return out;
}

Deno.test("Qos0Writer encodes PUBLISH packets that an independent parser reads back (3.1.1 and 5)", async () => {
  for (const version of [4, 5] as const) {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            topic: fc.string({ minLength: 1, maxLength: 40 }),
            body: fc.oneof(
              fc.string({ maxLength: 300 }),
              fc.string({ maxLength: 100, unit: "binary" }),
              fc.string({ minLength: 16_000, maxLength: 20_000 }),
            ),
            retain: fc.boolean(),
          }),
          { maxLength: 30 },
        ),
        async (msgs) => {
          const chunks: Uint8Array[] = [];
          let packets = 0;
          const w = new Qos0Writer((c, n) => {
            chunks.push(c);
            packets += n;
          }, { version, contentType: "application/json" });
          for (const m of msgs) w.append(m.topic, m.body, m.retain);
          await Promise.resolve();
          w.flush();
          assert.equal(packets, msgs.length);
          const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
          let o = 0;
          for (const c of chunks) {
            all.set(c, o);
            o += c.length;
          }
          const got = parse(all, version);
          assert.deepEqual(
            got.map((g) => [g.topic, g.body, g.retain]),
            msgs.map((m) => [m.topic, new TextDecoder().decode(new TextEncoder().encode(m.body)), m.retain]),
          );
          if (version === 5) { for (const g of got) assert.equal(g.contentType, "application/json"); }
        },
      ),
      { numRuns: 50 },
    );
  }
});

Deno.test("Qos0Writer: one chunk per task, bytes bodies, a body larger than the chunk, discard", async () => {
  const chunks: Uint8Array[] = [];
  const w = new Qos0Writer((c) => chunks.push(c), { version: 4 });
  for (let i = 0; i < 100; i++) w.append("t/x", `{"i":${i}}`, false);
  assert.equal(chunks.length, 0);
  await Promise.resolve();
  assert.equal(chunks.length, 1);
  w.append("t/y", new Uint8Array(200_000).fill(65), true);
  w.flush();
  const big = parse(chunks[1], 4);
  assert.equal(big[0].body.length, 200_000);
  assert.equal(big[0].retain, true);
  w.append("t/u", "a\ud800b😀é\udc00", false); // lone surrogates as TextEncoder does
  w.flush();
  assert.equal(parse(chunks[2], 4)[0].body, new TextDecoder().decode(new TextEncoder().encode("a\ud800b😀é\udc00")));
  w.append("t/z", "x", false);
  assert.equal(w.discard(), 1);
  assert.equal(w.pendingBytes, 0);
  await Promise.resolve();
  assert.equal(chunks.length, 3);
});
