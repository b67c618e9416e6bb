import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import fc from "fast-check";
import { VERDICT_BAD_SIGNATURE, VERDICT_OK, VERDICT_REPLAY, VERDICT_TIMESTAMP_DRIFT, WasmCrypto } from "./mod.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => new Uint8Array(s.match(/../g)!.map((x) => parseInt(x, 16)));
const utf8 = (s: string) => new TextEncoder().encode(s);

Deno.test("sha256: NIST short and long message vectors", async () => {
  const c = await WasmCrypto.create();
  assert.equal(hex(c.sha256(new Uint8Array())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(hex(c.sha256(utf8("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(
    hex(c.sha256(utf8("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assert.equal(
    hex(c.sha256(new Uint8Array(1_000_000).fill(0x61))),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
});

// RFC 4231 test cases 1-7 (case 5 checks the 128-bit truncation).
const RFC4231: { key: string; data: string; mac: string; bits?: number }[] = [
  {
    key: "0b".repeat(20),
    data: hex(utf8("Hi There")),
    mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  },
  {
    key: hex(utf8("Jefe")),
    data: hex(utf8("what do ya want for nothing?")),
    mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  },
  {
    key: "aa".repeat(20),
    data: "dd".repeat(50),
    mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
  },
  {
    key: "0102030405060708090a0b0c0d0e0f10111213141516171819",
    data: "cd".repeat(50),
    mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
  },
  { key: "0c".repeat(20), data: hex(utf8("Test With Truncation")), mac: "a3b6167473100ee06e0c796c2955552b", bits: 128 },
  {
    key: "aa".repeat(131),
    data: hex(utf8("Test Using Larger Than Block-Size Key - Hash Key First")),
    mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  },
  {
    key: "aa".repeat(131),
    data: hex(
      utf8(
        "This is a test using a larger than block-size key and a larger than block-size data. " +
          "The key needs to be hashed before being used by the HMAC algorithm.",
      ),
    ),
    mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
  },
];

Deno.test("hmac: RFC 4231 vectors, one-shot, precomputed key, batch and truncated verify", async () => {
  const c = await WasmCrypto.create();
  for (const [n, v] of RFC4231.entries()) {
    const key = unhex(v.key), data = unhex(v.data);
    const bits = v.bits ?? 256;
    assert.equal(hex(c.hmac(key, data)).slice(0, bits / 4), v.mac, `case ${n + 1} one-shot`);
    const k = c.addKey(key);
    assert.equal(hex(c.hmacWithKey(k, data)).slice(0, bits / 4), v.mac, `case ${n + 1} precomputed`);
    const tags = c.hmacBatch(k, data, new Uint32Array([0, data.length]), { tagBits: bits });
    assert.equal(hex(tags), v.mac, `case ${n + 1} batch`);
    const out = new Uint8Array(1);
    assert.equal(
      c.verifyBatch({ keyIndex: k, data, offsets: new Uint32Array([0, data.length]), tags, tagBits: bits, out }),
      1,
    );
    const bad = tags.slice();
    bad[bad.length - 1] ^= 1;
    assert.equal(
      c.verifyBatch({ keyIndex: k, data, offsets: new Uint32Array([0, data.length]), tags: bad, tagBits: bits, out }),
      0,
    );
    assert.equal(out[0], 0);
  }
});

Deno.test("tagEqual: compares exactly tagBits bits, including a partial last byte", async () => {
  const c = await WasmCrypto.create();
  const a = unhex("00112233445566778899aabbccddeeff");
  const b = a.slice();
  assert.equal(c.tagEqual(a, b, 128), true);
  b[4] ^= 0x01; // bit 39 (0-based, MSB first)
  assert.equal(c.tagEqual(a, b, 39), true);
  assert.equal(c.tagEqual(a, b, 40), false);
  assert.equal(c.tagEqual(a, b, 32), true);
  assert.equal(c.tagEqual(a, a.subarray(0, 3), 32), false);
  assert.throws(() => c.tagEqual(a, a, 31), /tagBits/);
  assert.throws(() => c.tagEqual(a, a, 257), /tagBits/);
});

Deno.test("property: SHA-256 and HMAC-SHA256 match node:crypto (keys 0-200 B, messages 0-10,000 B)", async () => {
  const c = await WasmCrypto.create();
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 200 }),
      fc.uint8Array({ minLength: 0, maxLength: 10_000 }),
      (key, msg) => {
        assert.equal(hex(c.sha256(msg)), createHash("sha256").update(msg).digest("hex"));
        const want = createHmac("sha256", key).update(msg).digest("hex");
        assert.equal(hex(c.hmac(key, msg)), want);
        const k = c.addKey(key);
        assert.equal(hex(c.hmacWithKey(k, msg)), want);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("property: hmacBatch and verifyBatch over many messages match node:crypto", async () => {
  const c = await WasmCrypto.create();
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 200 }),
      fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { minLength: 0, maxLength: 40 }),
      fc.integer({ min: 4, max: 32 }),
      fc.array(fc.nat(), { maxLength: 5 }),
      (key, msgs, tagBytes, flips) => {
        const k = c.addKey(key);
        const offsets = new Uint32Array(msgs.length + 1);
        for (let i = 0; i < msgs.length; i++) offsets[i + 1] = offsets[i] + msgs[i].length;
        const data = new Uint8Array(offsets[msgs.length]);
        msgs.forEach((m, i) => data.set(m, offsets[i]));
        const tags = c.hmacBatch(k, data, offsets, { tagBits: tagBytes * 8 });
        msgs.forEach((m, i) => {
          const want = createHmac("sha256", key).update(m).digest().subarray(0, tagBytes);
          assert.deepEqual(tags.subarray(i * tagBytes, (i + 1) * tagBytes), new Uint8Array(want));
        });
        const bad = new Set<number>();
        if (msgs.length > 0) {
          for (const f of flips) {
            const i = f % msgs.length;
            if (bad.has(i)) continue;
            bad.add(i);
            tags[i * tagBytes + (f % tagBytes)] ^= 1 << (f % 8);
          }
        }
        const out = new Uint8Array(msgs.length);
        const ok = c.verifyBatch({ keyIndex: k, data, offsets, tags, tagBits: tagBytes * 8, out });
        assert.equal(ok, msgs.length - bad.size);
        for (let i = 0; i < msgs.length; i++) assert.equal(out[i], bad.has(i) ? 0 : 1);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("verifyEnvelopes: tag, drift and sliding replay window verdicts", async () => {
  const c = await WasmCrypto.create({ replayWindow: 64 });
  const key = utf8("k");
  const k = c.addKey(key);
  const slot = c.replaySlot("k1", "car-1");
  const now = 1_700_000_000_000;
  const env = (counter: number, opts: { ts?: number; body?: string; tamper?: boolean } = {}) => {
    const body = utf8(opts.body ?? "{}");
    const prefix = `P\n${counter}\n`;
    const bodyHash = createHash("sha256").update(body).digest("hex");
    const tag = createHmac("sha256", key).update(prefix + bodyHash).digest().subarray(0, 16);
    if (opts.tamper) tag[0] ^= 0x80;
    return { keyIndex: k, replaySlot: slot, prefix, body, tag, counter, timestamp: opts.ts ?? now };
  };
  const run = (
    items: ReturnType<typeof env>[],
  ) => [...c.verifyEnvelopes(items, { tagBits: 128, nowMs: now, driftMs: 30_000 })];
  assert.deepEqual(run([env(10), env(10), env(9), env(11, { tamper: true }), env(11)]), [
    VERDICT_OK,
    VERDICT_REPLAY,
    VERDICT_OK,
    VERDICT_BAD_SIGNATURE,
    VERDICT_OK,
  ]);
  assert.deepEqual(run([env(12, { ts: now - 30_001 }), env(12, { ts: now + 30_000 }), env(12)]), [
    VERDICT_TIMESTAMP_DRIFT,
    VERDICT_OK,
    VERDICT_REPLAY,
  ]);
  // Jump ahead by more than the window: everything older than 100 - 63 is too old.
  assert.deepEqual(run([env(100), env(37), env(36), env(37), env(99), env(1000)]), [
    VERDICT_OK,
    VERDICT_OK,
    VERDICT_REPLAY,
    VERDICT_REPLAY,
    VERDICT_OK,
    VERDICT_OK,
  ]);
  // A rejected (bad tag) envelope does not consume its counter.
  assert.deepEqual(run([env(1001, { tamper: true }), env(1001), env(1001)]), [
    VERDICT_BAD_SIGNATURE,
    VERDICT_OK,
    VERDICT_REPLAY,
  ]);
  // A different sender has its own window.
  const other = c.replaySlot("k1", "car-2");
  assert.deepEqual([
    ...c.verifyEnvelopes([{ ...env(10), replaySlot: other }], { tagBits: 128, nowMs: now, driftMs: 1 }),
  ], [VERDICT_OK]);
});

Deno.test("property: the replay window accepts each counter once and nothing older than the window", async () => {
  const window = 128;
  const c = await WasmCrypto.create({ replayWindow: window });
  const k = c.addKey(utf8("key"));
  let n = 0;
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 300 }), (counters) => {
      const slot = c.replaySlot("k", `s${n++}`);
      const items = counters.map((counter) => {
        const prefix = `${counter}\n`;
        const tag = createHmac("sha256", "key").update(prefix + createHash("sha256").update("").digest("hex")).digest();
        return { keyIndex: k, replaySlot: slot, prefix, body: new Uint8Array(), tag, counter, timestamp: 0 };
      });
      const got = c.verifyEnvelopes(items, { tagBits: 256, nowMs: 0, driftMs: 0 });
      const seen = new Set<number>();
      let hi = -1;
      counters.forEach((ctr, i) => {
        const fresh = !seen.has(ctr) && (hi < 0 || ctr > hi || hi - ctr < window);
        assert.equal(got[i], fresh ? VERDICT_OK : VERDICT_REPLAY, `counter ${ctr} at ${i}`);
        if (fresh) {
          seen.add(ctr);
          hi = Math.max(hi, ctr);
        }
      });
    }),
    { numRuns: 200 },
  );
});

Deno.test("create rejects a replay window that is not a multiple of 64 in 64..1024", async () => {
  await assert.rejects(() => WasmCrypto.create({ replayWindow: 100 }), /replayWindow/);
  await assert.rejects(() => WasmCrypto.create({ replayWindow: 2048 }), /replayWindow/);
});

Deno.test("property: the four-lane SIMD path equals the scalar path and node:crypto (lanes share a block count)", async () => {
  const c = await WasmCrypto.create();
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 100 }),
      fc.integer({ min: 0, max: 4 }),
      fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 0, maxLength: 37 }),
      (key, block, jitter) => {
        // lengths inside one block-count class (0-55 bytes, 56-119, ...), so lanes group
        const msgs = jitter.map((j) => crypto.getRandomValues(new Uint8Array(Math.max(0, block * 64 - 8 + j))));
        const offsets = new Uint32Array(msgs.length + 1);
        for (let i = 0; i < msgs.length; i++) offsets[i + 1] = offsets[i] + msgs[i].length;
        const data = new Uint8Array(offsets[msgs.length]);
        msgs.forEach((m, i) => data.set(m, offsets[i]));
        const k = c.addKey(key);
        c.simd = true;
        const g0 = c.simdGroups;
        const simd = c.hmacBatch(k, data, offsets);
        assert.equal(c.simdGroups - g0, Math.floor(msgs.length / 4), "every full group of 4 ran in the lanes");
        c.simd = false;
        const scalar = c.hmacBatch(k, data, offsets);
        assert.equal(c.simdGroups - g0, Math.floor(msgs.length / 4), "the scalar path uses no lanes");
        c.simd = true;
        assert.deepEqual(simd, scalar);
        msgs.forEach((m, i) => {
          assert.equal(hex(simd.subarray(i * 32, i * 32 + 32)), createHmac("sha256", key).update(m).digest("hex"));
        });
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("property: verifyEnvelopes gives the same verdicts with and without the SIMD path", () => {
  const key = utf8("envelope key");
  let lanes = 0;
  const make = () => {
    const c = WasmCrypto.createSync({ replayWindow: 64 });
    return { c, k: c.addKey(key), slots: [c.replaySlot("k", "a"), c.replaySlot("k", "b")] };
  };
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          counter: fc.integer({ min: 0, max: 200 }),
          sender: fc.integer({ min: 0, max: 1 }),
          skew: fc.integer({ min: -40, max: 40 }),
          bodyLen: fc.oneof(fc.integer({ min: 0, max: 55 }), fc.integer({ min: 0, max: 130 })),
          tamper: fc.boolean(),
        }),
        { maxLength: 60 },
      ),
      (specs) => {
        const simd = make(), scalar = make();
        scalar.c.simd = false;
        const items = (x: ReturnType<typeof make>) =>
          specs.map((s) => {
            const body = new Uint8Array(s.bodyLen).fill(s.counter & 255);
            const prefix = `p\n${s.sender}\n${s.counter}\n`;
            const tag = createHmac("sha256", key).update(prefix + createHash("sha256").update(body).digest("hex"))
              .digest();
            if (s.tamper) tag[3] ^= 4;
            return {
              keyIndex: x.k,
              replaySlot: x.slots[s.sender],
              prefix,
              body,
              tag,
              counter: s.counter,
              timestamp: 1000 + s.skew,
            };
          });
        const policy = { tagBits: 96, nowMs: 1000, driftMs: 30 };
        const a = simd.c.verifyEnvelopes(items(simd), policy);
        const b = scalar.c.verifyEnvelopes(items(scalar), policy);
        assert.deepEqual(a, b);
        assert.equal(scalar.c.simdGroups, 0);
        lanes += simd.c.simdGroups;
        specs.forEach((s, i) => {
          if (s.tamper) assert.equal(a[i], VERDICT_BAD_SIGNATURE);
          else if (Math.abs(s.skew) > 30) assert.equal(a[i], VERDICT_TIMESTAMP_DRIFT);
        });
      },
    ),
    { numRuns: 150 },
  );
  assert.ok(lanes > 20, `the SIMD envelope path ran ${lanes} times`);
});

Deno.test("batch calls reject offsets that do not describe the data", async () => {
  const c = await WasmCrypto.create();
  const k = c.addKey(utf8("key"));
  const data = new Uint8Array(10);
  assert.throws(() => c.hmacBatch(k, data, new Uint32Array([0, 11])), /offsets/);
  assert.throws(() => c.hmacBatch(k, data, new Uint32Array([0, 5]), { count: 2 }), /offsets/);
  assert.throws(() => c.hmacBatch(7, data, new Uint32Array([0, 5])), /unknown key index 7/);
  assert.throws(
    () =>
      c.verifyBatch({ keyIndex: k, data, offsets: new Uint32Array([0, 5]), tags: new Uint8Array(15), tagBits: 128 }),
    /need 16 bytes/,
  );
});
