// @ts-check
/* Genba ID: compact JWS with ES256 only (RFC 7515 §7.1, RFC 7518 §3.4: the signature is r || s, which is
 * also WebCrypto's ECDSA form) and P-256 public keys from a JWK (RFC 7517). */

import { b64urlFromBytes, b64urlJson, bytesFromB64url, encoder, jsonFromB64url } from "./base64url.js";
import { FormatError } from "./errors.js";

export const ECDSA = { name: "ECDSA", namedCurve: "P-256" };
export const ES256 = { name: "ECDSA", hash: "SHA-256" };

/**
 * @typedef {{ header: any, payload: any, signingInput: Uint8Array<ArrayBuffer>, signature: Uint8Array<ArrayBuffer> }} Jws
 */

/**
 * A P-256 public key (the verify usage only) from its JWK.
 * @param {any} jwk
 * @returns {Promise<CryptoKey>}
 */
export async function importJwk(jwk) {
  if (!jwk || jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.x !== "string" || typeof jwk.y !== "string") {
    throw new FormatError("not a P-256 key", "key");
  }
  return crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, ECDSA, false, ["verify"]);
}

/**
 * Compact JWS: { header, payload, signingInput, signature }; no verification.
 * @param {unknown} token
 * @returns {Jws}
 */
export function splitJws(token) {
  const parts = String(token).split(".");
  if (parts.length !== 3) throw new FormatError("not a JWT");
  return {
    header: jsonFromB64url(parts[0]),
    payload: jsonFromB64url(parts[1]),
    signingInput: encoder.encode(`${parts[0]}.${parts[1]}`),
    signature: bytesFromB64url(parts[2]),
  };
}

/**
 * ES256 only (RFC 7518 §3.4: r || s): the parsed JWS when the signature verifies with `key`, else null.
 * @param {unknown} token
 * @param {CryptoKey} key
 * @returns {Promise<Jws | null>}
 */
export async function verifyJws(token, key) {
  const jws = splitJws(token);
  if (jws.header.alg !== "ES256" || jws.signature.length !== 64) return null;
  let ok;
  try {
    ok = await crypto.subtle.verify(ES256, key, jws.signature, jws.signingInput);
  } catch {
    ok = false;
  }
  return ok ? jws : null;
}

/**
 * A compact JWS of `header` and `claims` signed with an ECDSA P-256 private key (RFC 7515 §7.1).
 * @param {CryptoKey} privateKey
 * @param {object} header
 * @param {object} claims
 * @returns {Promise<string>}
 */
export async function signEs256(privateKey, header, claims) {
  const input = `${b64urlJson(header)}.${b64urlJson(claims)}`;
  const signature = await crypto.subtle.sign(ES256, privateKey, encoder.encode(input));
  return `${input}.${b64urlFromBytes(signature)}`;
}
