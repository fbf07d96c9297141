// @ts-check
/* Genba ID: SD-JWT (RFC 9901) and SD-JWT VC in the browser — the one JavaScript implementation, used by
 * the wallet (reading what it received, presenting with a Key Binding JWT) and the gate page (verifying
 * offline). The server's counterpart is wallet/sdjwt.py; both are run on the same data-driven cases
 * (tests/conformance/sd_jwt/cases, by tests/js/sdjwt.test.mjs here), and the error codes are the same. */

import { jsonFromB64url, sha256B64url } from "./base64url.js";
import { importJwk, signEs256, splitJws, verifyJws } from "./jws.js";

export const TYP_VC = "dc+sd-jwt";
export const TYP_KB = "kb+jwt";
export const MAX_SD_JWT_LENGTH = 200_000;

/** The SD-JWT is malformed or does not verify; `code` is stable for callers (as in wallet/sdjwt.py). */
export class SdJwtError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * @typedef {object} Parsed
 * @property {string} issuerJwt
 * @property {string[]} disclosures
 * @property {string | null} kbJwt
 * @property {string} withoutKb the part the KB-JWT's sd_hash covers (RFC 9901 §4.3.1)
 */

/**
 * RFC 9901 §4: `<issuer JWT>~<disclosure>~...~[<KB-JWT>]`.
 * @param {unknown} value
 * @returns {Parsed}
 */
export function parse(value) {
  if (typeof value !== "string" || value.length > MAX_SD_JWT_LENGTH || !value.includes("~")) {
    throw new SdJwtError("malformed", "not an SD-JWT");
  }
  const parts = value.split("~");
  const issuerJwt = parts[0];
  const disclosures = parts.slice(1, -1);
  const last = parts[parts.length - 1];
  if (issuerJwt.split(".").length !== 3 || disclosures.some((d) => !d)) throw new SdJwtError("malformed", "not an SD-JWT");
  return { issuerJwt, disclosures, kbJwt: last || null, withoutKb: withoutKb(issuerJwt, disclosures) };
}

/**
 * @param {string} issuerJwt
 * @param {string[]} disclosures
 * @returns {string}
 */
function withoutKb(issuerJwt, disclosures) {
  return issuerJwt + "~" + disclosures.map((d) => d + "~").join("");
}

/**
 * RFC 9901 §4.2.3: base64url(SHA-256(the disclosure's ASCII)).
 * @param {string} disclosure
 * @returns {Promise<string>}
 */
export const digest = (disclosure) => sha256B64url(disclosure);

/**
 * RFC 9901 §4.2.1–4.2.2: `[salt, name, value]` (object property) or `[salt, value]` (array element).
 * @param {string} disclosure
 * @returns {any[]}
 */
export function decodeDisclosure(disclosure) {
  let content;
  try {
    content = jsonFromB64url(disclosure);
  } catch {
    throw new SdJwtError("malformed_disclosure", "a disclosure is not base64url JSON");
  }
  if (!Array.isArray(content) || ![2, 3].includes(content.length) || typeof content[0] !== "string") {
    throw new SdJwtError("malformed_disclosure", "a disclosure is not [salt, (name,) value]");
  }
  return content;
}

/**
 * RFC 9901 §7.1 steps 3–5: every disclosure matches exactly one digest, once; claims are put in place
 * (objects and array elements, recursively); `_sd` and `_sd_alg` removed. One function, as wallet/sdjwt.py
 * resolve: the digest bookkeeping (seen, used) is shared by the object and array walks.
 * @param {any} payload
 * @param {string[]} disclosures
 * @returns {Promise<any>}
 */
export async function resolve(payload, disclosures) {
  if ((payload._sd_alg || "sha-256") !== "sha-256") throw new SdJwtError("unsupported_sd_alg", "only sha-256 digests");
  /** @type {Map<string, any[]>} */
  const byDigest = new Map();
  for (const disclosure of disclosures) {
    const key = await digest(disclosure);
    if (byDigest.has(key)) throw new SdJwtError("duplicate_disclosure", "a disclosure appears twice");
    byDigest.set(key, decodeDisclosure(disclosure));
  }
  const used = new Set();
  const seen = new Set(); // every digest met so far, disclosed or not (§7.1 step 4)
  /** @param {unknown} d */
  const once = (d) => {
    if (typeof d !== "string") throw new SdJwtError("malformed_digest", "a digest is not a string");
    if (seen.has(d)) throw new SdJwtError("digest_reused", "a digest is referenced twice");
    seen.add(d);
  };
  /** @param {string} d */
  const take = (d) => {
    used.add(d);
    return /** @type {any[]} */ (byDigest.get(d));
  };
  /** @type {(node: any) => any} */
  const walk = (node) => {
    if (Array.isArray(node)) {
      const items = [];
      for (const item of node) {
        if (item && typeof item === "object" && !Array.isArray(item) && Object.keys(item).length === 1 && "..." in item) {
          once(item["..."]);
          if (byDigest.has(item["..."])) {
            const content = take(item["..."]);
            if (content.length !== 2) throw new SdJwtError("malformed_disclosure", "array disclosure with a name");
            items.push(walk(content[1]));
          }
          continue;
        }
        items.push(walk(item));
      }
      return items;
    }
    if (node && typeof node === "object") {
      /** @type {Record<string, any>} */
      const out = {};
      for (const [key, value] of Object.entries(node)) if (key !== "_sd" && key !== "_sd_alg") out[key] = walk(value);
      const digests = node._sd === undefined ? [] : node._sd;
      if (!Array.isArray(digests)) throw new SdJwtError("malformed_digest", "_sd is not an array");
      for (const d of digests) {
        once(d);
        if (!byDigest.has(d)) continue;
        const content = take(d);
        if (content.length !== 3) throw new SdJwtError("malformed_disclosure", "object disclosure without a name");
        const [, name, value] = content;
        if (name === "_sd" || name === "..." || Object.prototype.hasOwnProperty.call(out, name)) {
          throw new SdJwtError("claim_conflict", `disclosed claim ${name} clashes`);
        }
        out[name] = walk(value);
      }
      return out;
    }
    return node;
  };
  const resolved = walk(payload);
  for (const d of byDigest.keys()) {
    if (!used.has(d)) throw new SdJwtError("unreferenced_disclosure", "a disclosure matches no digest (tampered?)");
  }
  return resolved;
}

/**
 * The issuer-signed JWT's ES256 signature with `key` and its `typ`: { header, payload }.
 * @param {string} issuerJwt
 * @param {CryptoKey} key
 * @param {string} [typ]
 * @returns {Promise<{ header: any, payload: any }>}
 */
export async function verifyIssuerJwt(issuerJwt, key, typ = TYP_VC) {
  let jws;
  try {
    jws = await verifyJws(issuerJwt, key);
  } catch {
    jws = null;
  }
  if (!jws) throw new SdJwtError("invalid_signature", "issuer signature does not verify");
  if (jws.header.typ !== typ) throw new SdJwtError("invalid_typ", `typ must be ${typ}`);
  if (!jws.payload || typeof jws.payload !== "object" || Array.isArray(jws.payload)) {
    throw new SdJwtError("malformed", "not an SD-JWT");
  }
  return { header: jws.header, payload: jws.payload };
}

/**
 * RFC 9901 §4.3.1: base64url(SHA-256(<issuer JWT>~<disclosures>~)).
 * @param {Parsed} parsed
 * @returns {Promise<string>}
 */
export const sdHash = (parsed) => sha256B64url(parsed.withoutKb);

/**
 * RFC 9901 §7.3: the KB-JWT is signed by the `cnf` key, typ kb+jwt, aud and nonce as expected, iat within
 * `skew` seconds of `now`, and sd_hash over the presentation; returns its claims.
 * @param {Parsed} parsed
 * @param {any} cnfJwk
 * @param {{ aud: string, nonce: string, now: number, skew: number }} expected
 * @returns {Promise<any>}
 */
export async function verifyKeyBinding(parsed, cnfJwk, { aud, nonce, now, skew }) {
  if (!parsed.kbJwt) throw new SdJwtError("missing_kb", "key binding is required");
  let jws;
  try {
    jws = await verifyJws(parsed.kbJwt, await importJwk(cnfJwk));
  } catch {
    jws = null;
  }
  if (!jws) throw new SdJwtError("invalid_kb", "the key binding JWT does not verify with the holder key");
  const kb = jws.payload || {};
  if (jws.header.typ !== TYP_KB) throw new SdJwtError("invalid_kb", "KB-JWT typ must be kb+jwt");
  if (kb.aud !== aud) throw new SdJwtError("invalid_kb_aud", "KB-JWT audience is not this verifier");
  if (kb.nonce !== nonce) throw new SdJwtError("invalid_kb_nonce", "KB-JWT nonce does not match");
  if (!Number.isInteger(kb.iat) || Math.abs(now - kb.iat) > skew) {
    throw new SdJwtError("invalid_kb_iat", "KB-JWT iat is outside the allowed clock skew");
  }
  if (kb.sd_hash !== (await sdHash(parsed))) {
    throw new SdJwtError("invalid_kb_sd_hash", "KB-JWT sd_hash does not match the presentation");
  }
  return kb;
}

/**
 * What a holder reads of a credential it received (no signature check: the wallet trusts the issuer it
 * just talked to over TLS): the header, the payload without `_sd`/`_sd_alg`, and the disclosed claims,
 * in the order of the disclosures, every disclosure matched to a digest the issuer signed (RFC 9901 §7.1).
 * @param {string} sdJwt
 * @returns {Promise<{ header: any, payload: Record<string, any>, claims: Record<string, any> }>}
 */
export async function decode(sdJwt) {
  const parsed = parse(sdJwt);
  let header;
  let payload;
  try {
    ({ header, payload } = splitJws(parsed.issuerJwt));
  } catch {
    throw new SdJwtError("malformed", "not an SD-JWT");
  }
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) throw new SdJwtError("malformed", "not an SD-JWT");
  const resolved = await resolve(payload, parsed.disclosures);
  /** @type {Record<string, any>} */
  const visible = {};
  for (const [name, value] of Object.entries(payload)) if (name !== "_sd" && name !== "_sd_alg") visible[name] = value;
  /** @type {Record<string, any>} */
  const claims = {}; // the disclosed top-level claims, in the order of their disclosures
  for (const disclosure of parsed.disclosures) {
    const content = decodeDisclosure(disclosure);
    const name = content.length === 3 ? content[1] : null;
    if (typeof name === "string" && !(name in visible) && Object.prototype.hasOwnProperty.call(resolved, name)) {
      claims[name] = resolved[name];
    }
  }
  return { header, payload: visible, claims };
}

/**
 * Holder side (RFC 9901 §4.3): only the object disclosures whose claim name `keep` accepts, then a
 * KB-JWT (typ kb+jwt; iat, aud, nonce, sd_hash) signed with the credential's own private key.
 * @param {string} sdJwt
 * @param {(name: string) => boolean} keep
 * @param {{ privateKey: CryptoKey, aud: string, nonce: string, iat: number }} binding
 * @returns {Promise<string>}
 */
export async function present(sdJwt, keep, { privateKey, aud, nonce, iat }) {
  const parts = String(sdJwt).split("~");
  const kept = parts.slice(1, -1).filter((disclosure) => {
    if (!disclosure) return false;
    try {
      const content = jsonFromB64url(disclosure);
      return Array.isArray(content) && content.length === 3 && keep(content[1]);
    } catch {
      return false;
    }
  });
  const chosen = withoutKb(parts[0], kept);
  const claims = { iat, aud, nonce, sd_hash: await sha256B64url(chosen) };
  return chosen + (await signEs256(privateKey, { typ: TYP_KB, alg: "ES256" }, claims));
}
