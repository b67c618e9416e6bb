import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { type CanFrame, FrameBatch } from "../can/mod.ts";
import { createSecOcFilter, createSecOcSender, KeyStore, type SecOcMessage } from "./mod.ts";

const KEY = new Uint8Array(16).fill(0x11);
const keys = KeyStore.fromEntries([["ecu", KEY]]);
const MSG: SecOcMessage = { id: 0x101, keyId: "ecu", payloadLength: 3, freshnessBits: 8, macBits: 32 };

const frame = (id: number, data: Uint8Array, extra: Partial<CanFrame> = {}): CanFrame => ({
  timestamp: 1,
  iface: "can0",
  id,
  extended: false,
  rtr: false,
  error: false,
  fd: false,
  brs: false,
  esi: false,
  data,
  ...extra,
});

function batchOf(frames: CanFrame[]): FrameBatch {
  const b = new FrameBatch(Math.max(1, frames.length));
  for (const f of frames) b.push(f);
  return b;
}

Deno.test("SecOC: the PDU layout and MAC input match an independent HMAC computation", () => {
  const send = createSecOcSender(MSG, { key: KEY, freshnessStart: 0x1234 });
  const pdu = send.protect(new Uint8Array([0xaa, 0xbb, 0xcc]));
  const input = new Uint8Array([0x01, 0x01, 0xaa, 0xbb, 0xcc, 0, 0, 0, 0, 0, 0, 0x12, 0x34]);
  const mac = createHmac("sha256", KEY).update(input).digest().subarray(0, 4);
  assert.deepEqual(pdu, new Uint8Array([0xaa, 0xbb, 0xcc, 0x34, ...mac]));
});

Deno.test("SecOC: authentic frames pass stripped across freshness wrap-around; failures are dropped and counted", () => {
  const filter = createSecOcFilter({ keys, messages: [MSG] });
  const send = createSecOcSender(MSG, { key: KEY });
  const frames: CanFrame[] = [];
  for (let i = 0; i < 600; i++) frames.push(frame(0x101, send.protect(new Uint8Array([i & 255, i >> 8, 7]))));
  frames.splice(3, 0, frame(0x200, new Uint8Array([9, 9]))); // not secured: passes unchanged
  const batch = batchOf(frames);
  assert.equal(filter.filter(batch), 601);
  for (let i = 0, j = 0; i < 601; i++) {
    const f = batch.get(i);
    if (i === 3) {
      assert.deepEqual(f.data, new Uint8Array([9, 9]));
      continue;
    }
    assert.deepEqual(f.data, new Uint8Array([j & 255, j >> 8, 7]), `frame ${i}`);
    j++;
  }
  // next batch: a replay, a forgery, a short frame, then the genuine next frames (after a failure)
  const next1 = send.protect(new Uint8Array([1, 2, 3]));
  const next2 = send.protect(new Uint8Array([4, 5, 6]));
  const forged = next1.slice();
  forged[0] ^= 1;
  const b2 = batchOf([
    frames[10],
    frame(0x101, forged),
    frame(0x101, next1.subarray(0, 7)),
    frame(0x101, next1),
    frame(0x101, next1),
    frame(0x101, next2),
  ]);
  assert.equal(filter.filter(b2), 2);
  assert.deepEqual(b2.get(0).data, new Uint8Array([1, 2, 3]));
  assert.deepEqual(b2.get(1).data, new Uint8Array([4, 5, 6]));
  assert.deepEqual(filter.metrics(), {
    accepted: 602,
    bad_mac: 3,
    stale_freshness: 0,
    bad_length: 1,
    unsecured_passed: 1,
    unsecured_dropped: 0,
  });
});

Deno.test("SecOC: full 48-bit freshness reports stale counters; extended ids; unsecured frames can be dropped", () => {
  const msg: SecOcMessage = {
    id: 0x18fe0001,
    extended: true,
    keyId: "ecu",
    payloadLength: 8,
    freshnessBits: 48,
    macBits: 128,
  };
  const filter = createSecOcFilter({ keys, messages: [msg], unsecured: "drop" });
  const send = createSecOcSender(msg, { key: KEY, freshnessStart: 2 ** 40 });
  const a = send.protect(new Uint8Array(8).fill(1)), b = send.protect(new Uint8Array(8).fill(2));
  const ext = (d: Uint8Array) => frame(0x18fe0001, d, { extended: true, fd: true });
  const batch = batchOf([ext(b), ext(a), frame(0x101, new Uint8Array(8)), ext(b), frame(0x0001, b)]);
  assert.equal(filter.filter(batch), 1);
  assert.deepEqual(batch.get(0).data, new Uint8Array(8).fill(2));
  const m = filter.metrics();
  assert.equal(m.stale_freshness, 2);
  assert.equal(m.unsecured_dropped, 2);
  filter.setFreshness(0x18fe0001, 0, { extended: true });
  const again = batchOf([ext(a)]);
  assert.equal(filter.filter(again), 1);
});

Deno.test("SecOC: configuration errors are actionable", () => {
  const bad = (m: Partial<SecOcMessage>, re: RegExp) =>
    assert.throws(() => createSecOcFilter({ keys, messages: [{ ...MSG, ...m }] }), re);
  bad({ keyId: "nope" }, /messages\[0\]: key id nope is not in the key store/);
  bad({ freshnessBits: 12 }, /freshnessBits/);
  bad({ macBits: 24 }, /macBits/);
  bad({ payloadLength: 60 }, /64-byte/);
  bad({ id: 0x800 }, /id out of range/);
  assert.throws(() => createSecOcFilter({ keys, messages: [MSG, MSG] }), /declared twice/);
});

Deno.test("property: SecOC keeps exactly the genuine fresh frames, however lost, replayed, forged and batched", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          kind: fc.constantFrom("genuine", "genuine", "genuine", "lost", "replay", "forged"),
          pick: fc.nat(),
          cut: fc.boolean(),
        }),
        { maxLength: 120 },
      ),
      fc.constantFrom(8, 16),
      (steps, freshnessBits) => {
        const msg: SecOcMessage = { ...MSG, freshnessBits, macBits: 32 };
        const filter = createSecOcFilter({ keys, messages: [msg] });
        const send = createSecOcSender(msg, { key: KEY, freshnessStart: 250 });
        const sent: Uint8Array[] = [];
        const delivered: Uint8Array[] = [];
        const expected: number[] = [];
        let batch: CanFrame[] = [];
        const kept: number[] = [];
        const flush = () => {
          const b = batchOf(batch);
          const n = filter.filter(b);
          for (let i = 0; i < n; i++) kept.push(b.get(i).data[0] | (b.get(i).data[1] << 8));
          batch = [];
        };
        steps.forEach((s, i) => {
          if (s.kind === "genuine" || s.kind === "lost") {
            const pdu = send.protect(new Uint8Array([i & 255, i >> 8, 0]));
            sent.push(pdu);
            if (s.kind === "genuine") {
              batch.push(frame(0x101, pdu));
              delivered.push(pdu);
              expected.push(i);
            }
          } else if (s.kind === "replay" && delivered.length > 0) {
            // a copy of a frame the receiver already saw (a never-delivered one would be a late original)
            batch.push(frame(0x101, delivered[s.pick % delivered.length]));
          } else if (s.kind === "forged" && sent.length > 0) {
            const f = sent[s.pick % sent.length].slice();
            f[s.pick % 8] ^= 1 << (s.pick % 8);
            batch.push(frame(0x101, f));
          }
          if (s.cut) flush();
        });
        flush();
        assert.deepEqual(kept, expected);
      },
    ),
    { numRuns: 200 },
  );
});
