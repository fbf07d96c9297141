// @ts-check
/* Genba ID: DER and X.509 (RFC 5280) read by hand — just what an ES256 certificate chain check needs:
 * the TBS bytes, algorithms, names, validity, the subject public key and the DNS and URI SANs. The
 * signature itself is checked with WebCrypto. */

import { bytesFromBase64 } from "./base64url.js";
import { FormatError } from "./errors.js";
import { ECDSA, ES256 } from "./jws.js";

/** @typedef {{ tag: number, end: number, value: Uint8Array<ArrayBuffer>, raw: Uint8Array<ArrayBuffer> }} DerNode */

/**
 * @typedef {object} Certificate
 * @property {Uint8Array<ArrayBuffer>} tbs
 * @property {Uint8Array<ArrayBuffer> | number[]} signatureAlgorithm
 * @property {Uint8Array<ArrayBuffer> | number[]} innerAlgorithm
 * @property {Uint8Array<ArrayBuffer>} signature
 * @property {Uint8Array<ArrayBuffer>} issuer
 * @property {Uint8Array<ArrayBuffer>} subject
 * @property {Uint8Array<ArrayBuffer>} spki
 * @property {number} notBefore
 * @property {number} notAfter
 * @property {string[]} dnsNames
 * @property {string[]} uris
 */

/**
 * One DER TLV (X.690 §8.1) at `offset`.
 * @param {Uint8Array<ArrayBuffer>} bytes
 * @param {number} [offset]
 * @returns {DerNode}
 */
function derRead(bytes, offset = 0) {
  if (offset + 2 > bytes.length) throw new FormatError("truncated DER", "certificate");
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let pos = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count < 1 || count > 4 || pos + count > bytes.length) throw new FormatError("bad DER length", "certificate");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[pos++];
  }
  if (pos + length > bytes.length) throw new FormatError("truncated DER", "certificate");
  return {
    tag,
    end: pos + length,
    value: bytes.subarray(pos, pos + length),
    raw: bytes.subarray(offset, pos + length),
  };
}

/**
 * @param {{ value: Uint8Array<ArrayBuffer> }} node
 * @returns {DerNode[]}
 */
function derChildren(node) {
  const out = [];
  for (let pos = 0; pos < node.value.length; ) {
    const child = derRead(node.value, pos);
    out.push(child);
    pos = child.end;
  }
  return out;
}

const OID_ECDSA_SHA256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]; // 1.2.840.10045.4.3.2
const OID_SAN = [0x55, 0x1d, 0x11]; // 2.5.29.17

/**
 * @param {ArrayLike<number>} a
 * @param {ArrayLike<number>} b
 * @returns {boolean}
 */
export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * UTCTime or GeneralizedTime (RFC 5280 §4.1.2.5) in milliseconds since the epoch.
 * @param {DerNode} node
 * @returns {number}
 */
function derTime(node) {
  const text = String.fromCharCode(...node.value);
  let match;
  if (node.tag === 0x17 && (match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    const year = Number(match[1]) < 50 ? 2000 + Number(match[1]) : 1900 + Number(match[1]);
    return Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6]));
  }
  if (node.tag === 0x18 && (match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6]));
  }
  throw new FormatError("bad certificate time", "certificate");
}

/**
 * The subjectAltName extension's dNSName [2] and uniformResourceIdentifier [6] entries (RFC 5280 §4.2.1.6).
 * @param {DerNode | undefined} extensions
 * @returns {{ dnsNames: string[], uris: string[] }}
 */
function alternativeNames(extensions) {
  const dnsNames = [];
  const uris = [];
  if (extensions) {
    for (const extension of derChildren(derChildren(extensions)[0] || { value: new Uint8Array() })) {
      const parts = derChildren(extension);
      if (!parts[0] || !sameBytes(parts[0].value, OID_SAN)) continue;
      const octets = parts[parts.length - 1];
      for (const name of derChildren(derRead(octets.value, 0))) {
        if (name.tag === 0x82) dnsNames.push(String.fromCharCode(...name.value)); // dNSName [2] IA5String
        if (name.tag === 0x86) uris.push(String.fromCharCode(...name.value)); // uniformResourceIdentifier [6]
      }
    }
  }
  return { dnsNames, uris };
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING } (RFC 5280 §4.1).
 * @param {Uint8Array<ArrayBuffer>} der
 * @returns {Certificate}
 */
export function parseCertificate(der) {
  const cert = derRead(der, 0);
  if (cert.tag !== 0x30 || cert.end !== der.length) throw new FormatError("not a certificate", "certificate");
  const [tbs, algorithm, signature] = derChildren(cert);
  if (!tbs || tbs.tag !== 0x30 || !algorithm || algorithm.tag !== 0x30 || !signature || signature.tag !== 0x03) {
    throw new FormatError("not a certificate", "certificate");
  }
  if (signature.value[0] !== 0) throw new FormatError("bad signature bits", "certificate");
  const fields = derChildren(tbs);
  let i = fields[0] && fields[0].tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version
  const [, innerAlgorithm, issuer, validity, subject, spki] = fields.slice(i, i + 6);
  i += 6;
  if (!spki || spki.tag !== 0x30 || issuer.tag !== 0x30 || subject.tag !== 0x30 || validity.tag !== 0x30) {
    throw new FormatError("not a certificate", "certificate");
  }
  const [notBefore, notAfter] = derChildren(validity);
  /** @param {DerNode} node */
  const oid = (node) => {
    const first = derChildren(node)[0];
    return first && first.tag === 0x06 ? first.value : new Uint8Array();
  };
  const { dnsNames, uris } = alternativeNames(fields.slice(i).find((f) => f.tag === 0xa3));
  return {
    tbs: tbs.raw,
    signatureAlgorithm: oid(algorithm),
    innerAlgorithm: oid(innerAlgorithm),
    signature: signature.value.subarray(1),
    issuer: issuer.raw,
    subject: subject.raw,
    spki: spki.raw,
    notBefore: derTime(notBefore),
    notAfter: derTime(notAfter),
    dnsNames,
    uris,
  };
}

/**
 * @param {string} pem
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function pemToDer(pem) {
  const body = String(pem).replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
  return bytesFromBase64(body, false);
}

/**
 * ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } → r || s, 32 bytes each (WebCrypto's form).
 * @param {Uint8Array<ArrayBuffer>} der
 * @returns {Uint8Array<ArrayBuffer>}
 */
function ecdsaDerToRaw(der) {
  const seq = derRead(der, 0);
  const parts = seq.tag === 0x30 ? derChildren(seq) : [];
  if (parts.length !== 2 || parts.some((p) => p.tag !== 0x02)) throw new FormatError("bad ECDSA signature", "certificate");
  const out = new Uint8Array(64);
  parts.forEach((part, n) => {
    let value = part.value;
    while (value.length > 32 && value[0] === 0) value = value.subarray(1);
    if (value.length > 32) throw new FormatError("bad ECDSA signature", "certificate");
    out.set(value, n * 32 + (32 - value.length));
  });
  return out;
}

/**
 * @param {Uint8Array<ArrayBuffer>} spki
 * @returns {Promise<CryptoKey>}
 */
export function importSpki(spki) {
  return crypto.subtle.importKey("spki", spki, ECDSA, false, ["verify"]);
}

/**
 * The certificate is signed (ECDSA with SHA-256) by `issuerKey`.
 * @param {Certificate} cert
 * @param {CryptoKey} issuerKey
 * @returns {Promise<boolean>}
 */
export async function certificateSignedBy(cert, issuerKey) {
  if (!sameBytes(cert.signatureAlgorithm, OID_ECDSA_SHA256)) return false;
  try {
    return await crypto.subtle.verify(ES256, issuerKey, ecdsaDerToRaw(cert.signature), cert.tbs);
  } catch {
    return false;
  }
}
