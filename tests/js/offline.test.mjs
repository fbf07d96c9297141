// The offline gate profile's QR payloads (docs/offline-gate.md; common/offline.js): the GC1 challenge, the
// GP1 presentation split into frames and collected in any order, and the Token Status List entries
// (draft-ietf-oauth-status-list §4.1; common/statuslist.js) and base64url (RFC 4648 §5) they rest on.
import assert from "node:assert/strict";
import { deflateRawSync, deflateSync } from "node:zlib";
import { test } from "node:test";

import { b64urlFromBytes, bytesFromB64url, bytesFromBase64, jsonFromB64url } from "../../wallet/static/common/base64url.js";
import { decompress } from "../../wallet/static/common/deflate.js";
import { FormatError } from "../../wallet/static/common/errors.js";
import * as offline from "../../wallet/static/common/offline.js";
import { STATUS, readList, statusAt } from "../../wallet/static/common/statuslist.js";

const challenge = { site_id: "S-1", gate_id: "main", work_kind: "crane", nonce: "bm9uY2U", time: 1_800_000_000, audience: "genba-gate:S-1:main" };

test("GC1: a challenge reads back as it was written; anything else is refused with code challenge", () => {
  const text = offline.encodeChallenge(challenge);
  assert.ok(text.startsWith(offline.CHALLENGE));
  assert.deepEqual(offline.decodeChallenge(text), { ...challenge, site_name: "", prime_name: "" });
  for (const bad of ["GC2:xyz", "GC1:not-json", offline.CHALLENGE + "x".repeat(700), "GC1:" + b64urlFromBytes(new TextEncoder().encode('{"s":1}'))]) {
    assert.throws(() => offline.decodeChallenge(bad), (e) => e instanceof FormatError && e.code === "challenge", bad);
  }
});

test("GC1: the site's and prime contractor's names (issue 15, item 7) travel cut to NAME_MAX and keep the QR small", () => {
  const long = "新砂物流センター新築工事".repeat(5);
  const text = offline.encodeChallenge({ ...challenge, gate_id: "g".repeat(40), site_name: long, prime_name: "株式会社 東京ゼネコン" });
  const read = offline.decodeChallenge(text);
  assert.equal(read.prime_name, "株式会社 東京ゼネコン");
  assert.equal([...read.site_name].length, offline.NAME_MAX);
  assert.ok(read.site_name.startsWith("新砂物流センター新築工事") && read.site_name.endsWith("…"));
  assert.ok(text.length <= 600, String(text.length)); // what both decoders accept (wallet/gate/codec.py too)
});

test("GP1: one frame when it fits, else frames of at most the QR size, reassembled in any order", async () => {
  const small = await offline.encodePresentation("n", { ccus_card: ["a~b~"] });
  assert.equal(small.length, 1);
  assert.deepEqual(await offline.decodePresentation(small), { nonce: "n", vp: { ccus_card: ["a~b~"] } });

  const random = b64urlFromBytes(crypto.getRandomValues(new Uint8Array(6000))); // does not compress
  const frames = await offline.encodePresentation("n2", { ccus_card: [random] }, 1000);
  assert.ok(frames.length > 5 && frames.every((f) => f.length <= 1000 && offline.isPresentationFrame(f)));
  const shuffled = [...frames].reverse();
  assert.deepEqual((await offline.decodePresentation(shuffled)).vp.ccus_card[0], random);

  const collector = new offline.FrameCollector();
  let complete = null;
  for (const frame of [frames[2], frames[2], "not a frame", ...shuffled]) complete = collector.add(frame) || complete;
  assert.equal(collector.seen, frames.length);
  assert.deepEqual(new Set(complete), new Set(frames));
  await assert.rejects(offline.decodePresentation(frames.slice(1)), FormatError); // a frame missing
});

test("a presentation that inflates past the limit is refused (a small QR code must not unpack into gigabytes)", async () => {
  const bomb = deflateRawSync(new Uint8Array(3_000_000));
  await assert.rejects(decompress(bomb), /too large/);
  await assert.rejects(offline.decodePresentation(["GP1:" + b64urlFromBytes(bomb)]), FormatError);
});

test("status list: 2-bit entries, little-endian within each byte; out of range is an error", async () => {
  // entries 0..3 = valid, revoked, suspended, valid; entry 4 = revoked
  const bytes = new Uint8Array([0b00_10_01_00, 0b00_00_00_01]);
  const list = await readList({ bits: 2, lst: b64urlFromBytes(deflateSync(bytes)) });
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => statusAt(list.entries, i, list.bits)), [STATUS.VALID, STATUS.INVALID, STATUS.SUSPENDED, 0, 1]);
  for (const index of [-1, 8, 1.5]) assert.throws(() => statusAt(list.entries, index, 2), FormatError);
  await assert.rejects(readList({ bits: 3, lst: "AA" }), FormatError);
});

test("base64url is unpadded and strict; standard base64 (x5c, PEM) is read separately", () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0x00, 0x10]);
  assert.equal(b64urlFromBytes(bytes), "-_8AEA");
  assert.deepEqual(bytesFromB64url("-_8AEA"), bytes);
  assert.deepEqual(bytesFromBase64("+/8AEA==", false), bytes);
  for (const bad of ["+/8A", "ab=", "a b"]) assert.throws(() => bytesFromB64url(bad), FormatError);
  assert.throws(() => jsonFromB64url(b64urlFromBytes(new Uint8Array([0xff]))), /UTF-8/);
});
