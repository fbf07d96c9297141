// @ts-check
/* Genba ID: base64url (RFC 4648 §5, unpadded as JOSE uses it, RFC 7515 §2), UTF-8 and SHA-256 helpers
 * with WebCrypto — the one copy the wallet and the gate page use (and the Node tests import). */

import { FormatError } from "./errors.js";

export const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * @param {ArrayBuffer | Uint8Array<ArrayBuffer>} bytes
 * @returns {string}
 */
export function b64urlFromBytes(bytes) {
  let binary = "";
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  for (let i = 0; i < view.length; i += 0x8000) binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * base64url without padding (`url`), else standard base64 with optional padding (PEM, x5c).
 * @param {unknown} text
 * @param {boolean} [url]
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function bytesFromBase64(text, url = true) {
  const value = String(text);
  if (url ? !/^[A-Za-z0-9_-]*$/.test(value) : !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new FormatError("not base64");
  }
  const base64 = url ? value.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((value.length + 3) % 4) : value;
  let binary;
  try {
    binary = atob(base64);
  } catch {
    throw new FormatError("not base64");
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * @param {unknown} text
 * @returns {Uint8Array<ArrayBuffer>}
 */
export const bytesFromB64url = (text) => bytesFromBase64(text, true);

/**
 * @param {Uint8Array<ArrayBuffer>} bytes
 * @returns {string}
 */
export function textFromBytes(bytes) {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new FormatError("not UTF-8");
  }
}

/**
 * @param {unknown} text
 * @returns {any}
 */
export function jsonFromB64url(text) {
  try {
    return JSON.parse(textFromBytes(bytesFromB64url(text)));
  } catch (error) {
    if (error instanceof FormatError) throw error;
    throw new FormatError("not JSON");
  }
}

/**
 * @param {unknown} value
 * @returns {string}
 */
export function b64urlJson(value) {
  return b64urlFromBytes(encoder.encode(JSON.stringify(value)));
}

/**
 * @param {string | Uint8Array<ArrayBuffer>} text
 * @returns {Promise<Uint8Array<ArrayBuffer>>}
 */
export async function sha256(text) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", typeof text === "string" ? encoder.encode(text) : text));
}

/**
 * @param {string | Uint8Array<ArrayBuffer>} text
 * @returns {Promise<string>}
 */
export async function sha256B64url(text) {
  return b64urlFromBytes(await sha256(text));
}

/**
 * @param {string | Uint8Array<ArrayBuffer>} text
 * @returns {Promise<string>}
 */
export async function sha256Hex(text) {
  return [...(await sha256(text))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * @param {number} [bytes]
 * @returns {string}
 */
export function randomB64url(bytes = 16) {
  return b64urlFromBytes(crypto.getRandomValues(new Uint8Array(bytes)));
}
