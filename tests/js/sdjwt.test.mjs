// The data-driven SD-JWT (RFC 9901) and SD-JWT VC cases of tests/conformance/sd_jwt/cases, the same files
// the Python suite runs against wallet/sdjwt.py, run against the browser's implementation
// (wallet/static/common/sdjwt.js): digests, disclosure decoding, issuer signature and typ, resolving
// disclosures (RFC 9901 §7.1) with the same error codes, and key binding (§7.3).
import assert from "node:assert/strict";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";

import { b64urlFromBytes, bytesFromB64url, encoder, jsonFromB64url, randomB64url, sha256B64url } from "../../wallet/static/common/base64url.js";
import { ECDSA, importJwk, signEs256 } from "../../wallet/static/common/jws.js";
import * as sdjwt from "../../wallet/static/common/sdjwt.js";
import { ROOT, pyDumps } from "./support.mjs";

const CASES = path.join(ROOT, "tests/conformance/sd_jwt/cases");
const NAMES = readdirSync(CASES)
  .filter((name) => existsSync(path.join(CASES, name, "case.yml")))
  .sort();
const load = (name) => parseYaml(readFileSync(path.join(CASES, name, "case.yml"), "utf8"));
const b64 = (text) => b64urlFromBytes(encoder.encode(text));

test("the case folders are there (the same ones as the Python suite's)", () => {
  assert.ok(NAMES.length >= 20, `only ${NAMES.length} cases`);
  for (const name of NAMES) assert.ok(["disclosures", "sd_jwt", "constructed"].includes(load(name).kind), name);
});

/** RFC 9901 §4.2.1–4.2.3: the digest of the exact string, the decoded content, the published encoding. */
async function checkDisclosures(c) {
  const digests = [];
  for (const vector of c.vectors) {
    const content = "name" in vector ? [vector.salt, vector.name, vector.value] : [vector.salt, vector.value];
    assert.equal(await sdjwt.digest(vector.disclosure), vector.digest, vector.disclosure);
    assert.deepEqual(sdjwt.decodeDisclosure(vector.disclosure), content);
    const encodings = { rfc: { ascii: true }, rfc_utf8: { ascii: false }, compact: { ascii: false, compact: true } };
    if (vector.encoding !== "other") assert.equal(b64(pyDumps(content, encodings[vector.encoding])), vector.disclosure);
    digests.push(vector.digest);
  }
  if (c.distinct_digests) assert.equal(new Set(digests).size, digests.length);
}

/** A published SD-JWT: signature and typ, disclosures resolved, and the KB-JWT when there is one. */
async function checkSdJwt(c) {
  const key = await importJwk(c.issuer_jwk);
  const expect = c.expect;
  let parsed;
  let claims;
  try {
    parsed = sdjwt.parse(c.sd_jwt);
    const { payload } = await sdjwt.verifyIssuerJwt(parsed.issuerJwt, key, c.typ);
    claims = await sdjwt.resolve(payload, parsed.disclosures);
  } catch (error) {
    assert.ok(error instanceof sdjwt.SdJwtError, String(error));
    assert.equal(error.code, expect.error, `rejected with ${error.code}: ${error.message}`);
    return;
  }
  assert.equal(expect.error, undefined, `accepted, expected ${expect.error}`);
  assert.equal(parsed.disclosures.length, expect.disclosures);
  assert.deepEqual(claims, expect.claims);
  const binding = c.key_binding;
  if (!binding) {
    assert.equal(parsed.kbJwt, null);
    return;
  }
  assert.equal(await sdjwt.sdHash(parsed), binding.sd_hash);
  const expected = { aud: binding.aud, nonce: binding.nonce, now: binding.iat, skew: 60 };
  const kb = await sdjwt.verifyKeyBinding(parsed, claims.cnf.jwk, expected);
  assert.equal(kb.sd_hash, binding.sd_hash);
  await assert.rejects(sdjwt.verifyKeyBinding(parsed, claims.cnf.jwk, { ...expected, nonce: "another" }), { code: "invalid_kb_nonce" });
}

const isRef = (node) => typeof node === "string" && node.startsWith("{{") && node.endsWith("}}");

function references(node) {
  if (isRef(node)) return node === "{{decoy}}" ? [] : [node.slice(2, -2)];
  if (node && typeof node === "object") return Object.values(node).flatMap(references);
  return [];
}

async function fill(node, digests) {
  if (isRef(node)) return node === "{{decoy}}" ? sha256B64url(randomB64url(24)) : digests[node.slice(2, -2)];
  if (Array.isArray(node)) return Promise.all(node.map((v) => fill(v, digests)));
  if (node && typeof node === "object") {
    const out = {};
    for (const [k, v] of Object.entries(node)) out[k] = await fill(v, digests);
    return out;
  }
  return node;
}

/** The case's disclosures encoded (dependencies first) with Python's spacing, its payload signed, its choice presented. */
async function build(c, privateKey) {
  const encoded = {};
  const digests = {};
  const pending = new Map(Object.entries(c.disclosures || {}));
  while (pending.size) {
    const ready = [...pending].filter(([, t]) => references(t).every((r) => r in digests));
    assert.ok(ready.length, `circular disclosures in ${[...pending.keys()]}`);
    for (const [name, template] of ready) {
      pending.delete(name);
      encoded[name] = b64(pyDumps(await fill(template, digests), { ascii: false }));
      digests[name] = await sha256B64url(encoded[name]);
    }
  }
  const payload = await fill(c.payload, digests);
  const sdAlg = "sd_alg" in c ? c.sd_alg : "sha-256";
  if (sdAlg !== null) payload._sd_alg = sdAlg;
  let issuerJwt = await signEs256(privateKey, { typ: "dc+sd-jwt", alg: "ES256" }, payload);
  if (c.tamper) {
    const [where, change] = c.tamper.split(/:(.*)/s);
    assert.equal(where, "payload");
    const [claim, value] = change.split(/=(.*)/s);
    const [header, body, signature] = issuerJwt.split(".");
    const claims = jsonFromB64url(body);
    claims[claim] = JSON.parse(value);
    issuerJwt = [header, b64(JSON.stringify(claims)), signature].join(".");
  }
  const chosen = c.present.map((item) => (item.startsWith("raw:") ? item.slice(4) : encoded[item]));
  return issuerJwt + "~" + chosen.map((d) => d + "~").join("");
}

async function checkConstructed(c) {
  const { privateKey, publicKey } = await crypto.subtle.generateKey(ECDSA, false, ["sign", "verify"]);
  const value = await build(c, privateKey);
  const expect = c.expect;
  let claims;
  try {
    const parsed = sdjwt.parse(value);
    const { payload } = await sdjwt.verifyIssuerJwt(parsed.issuerJwt, publicKey);
    claims = await sdjwt.resolve(payload, parsed.disclosures);
  } catch (error) {
    assert.ok(error instanceof sdjwt.SdJwtError, String(error));
    assert.equal(error.code, expect.error, `rejected with ${error.code}: ${error.message}`);
    return;
  }
  assert.equal(expect.error, undefined, `accepted as ${JSON.stringify(claims)}, expected ${expect.error}`);
  assert.deepEqual(claims, expect.claims);
}

for (const name of NAMES) {
  const c = load(name);
  test(`${name} (${c.spec})`, () => ({ disclosures: checkDisclosures, sd_jwt: checkSdJwt, constructed: checkConstructed })[c.kind](c));
}

test("a holder's presentation keeps only the chosen disclosures and binds them (RFC 9901 §4.3, §7.3)", async () => {
  const issuer = await crypto.subtle.generateKey(ECDSA, false, ["sign", "verify"]);
  const holder = await crypto.subtle.generateKey(ECDSA, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", holder.publicKey);
  const disclosures = [["s1", "name", "田中 次郎"], ["s2", "face_photo", "data:image/png;base64,AA"], ["s3", "level", 4]].map((d) =>
    b64(JSON.stringify(d)),
  );
  const payload = { iss: "https://issuer.example", cnf: { jwk }, _sd: await Promise.all(disclosures.map(sdjwt.digest)), _sd_alg: "sha-256" };
  const issued = (await signEs256(issuer.privateKey, { typ: "dc+sd-jwt", alg: "ES256" }, payload)) + "~" + disclosures.map((d) => d + "~").join("");

  const decoded = await sdjwt.decode(issued);
  assert.deepEqual(Object.keys(decoded.claims), ["name", "face_photo", "level"]); // the disclosures' order
  assert.equal(decoded.payload._sd, undefined);

  const shown = await sdjwt.present(issued, (name) => name !== "face_photo", {
    privateKey: holder.privateKey,
    aud: "genba-gate:site:main",
    nonce: "n-1",
    iat: 1_800_000_000,
  });
  const parsed = sdjwt.parse(shown);
  assert.equal(parsed.disclosures.length, 2);
  const { payload: signed } = await sdjwt.verifyIssuerJwt(parsed.issuerJwt, issuer.publicKey);
  assert.deepEqual(Object.keys(await sdjwt.resolve(signed, parsed.disclosures)).sort(), ["cnf", "iss", "level", "name"]);
  const expected = { aud: "genba-gate:site:main", nonce: "n-1", now: 1_800_000_030, skew: 60 };
  assert.equal((await sdjwt.verifyKeyBinding(parsed, jwk, expected)).nonce, "n-1");
  await assert.rejects(sdjwt.verifyKeyBinding(parsed, jwk, { ...expected, now: 1_800_000_100 }), { code: "invalid_kb_iat" });
  const fewer = sdjwt.parse(shown.replace(parsed.disclosures[0] + "~", ""));
  await assert.rejects(sdjwt.verifyKeyBinding(fewer, jwk, expected), { code: "invalid_kb_sd_hash" });
  assert.deepEqual(bytesFromB64url(parsed.kbJwt.split(".")[2]).length, 64);
});
