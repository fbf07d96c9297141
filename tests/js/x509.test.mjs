// common/x509.js, the hand-written DER reader the gate and the wallet check certificate chains with, read
// against Node's own X.509 parser (node:crypto X509Certificate) on a test chain (fixtures/chain.json).
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { FormatError } from "../../wallet/static/common/errors.js";
import { certificateSignedBy, importSpki, parseCertificate, pemToDer, sameBytes } from "../../wallet/static/common/x509.js";

const chain = JSON.parse(readFileSync(new URL("./fixtures/chain.json", import.meta.url), "utf8"));

test("RFC 5280 §4.1: validity (UTCTime and GeneralizedTime), names and SANs as node:crypto reads them", () => {
  for (const pem of [chain.root, chain.leaf]) {
    const ours = parseCertificate(pemToDer(pem));
    const theirs = new X509Certificate(pem);
    assert.equal(ours.notBefore, Date.parse(theirs.validFrom));
    assert.equal(ours.notAfter, Date.parse(theirs.validTo));
    assert.ok(sameBytes(ours.spki, theirs.publicKey.export({ type: "spki", format: "der" })));
  }
  const leaf = parseCertificate(pemToDer(chain.leaf));
  assert.deepEqual(leaf.uris, ["https://issuer.genba.example"]); // SD-JWT VC §3.5: the issuer by URI SAN
  assert.deepEqual(leaf.dnsNames, ["gate.genba.example"]);
  assert.ok(sameBytes(leaf.issuer, parseCertificate(pemToDer(chain.root)).subject));
  assert.equal(new Date(parseCertificate(pemToDer(chain.root)).notAfter).getUTCFullYear(), 2056); // GeneralizedTime
});

test("the chain check: the leaf is signed by the root, a certificate signed by another key is not", async () => {
  const root = parseCertificate(pemToDer(chain.root));
  const rootKey = await importSpki(root.spki);
  assert.equal(await certificateSignedBy(parseCertificate(pemToDer(chain.leaf)), rootKey), true);
  assert.equal(await certificateSignedBy(parseCertificate(pemToDer(chain.forged)), rootKey), false);
  assert.equal(new X509Certificate(chain.forged).verify(new X509Certificate(chain.root).publicKey), false);
});

test("what is not a certificate is a FormatError (code certificate), never a crash", () => {
  const der = pemToDer(chain.leaf);
  for (const bad of [der.subarray(0, 40), new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), new Uint8Array([0x02, 0x01, 0x00])]) {
    assert.throws(() => parseCertificate(bad), (error) => error instanceof FormatError && error.code === "certificate");
  }
  assert.throws(() => pemToDer("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----"), FormatError);
});
