// @ts-check
/* Genba ID: the IETF Token Status List (draft-ietf-oauth-status-list) as the wallet and the gate read it:
 * the `status_list` claim's DEFLATE'd (zlib) byte array and the entry of an index. */

import { bytesFromB64url } from "./base64url.js";
import { decompress } from "./deflate.js";
import { FormatError } from "./errors.js";

/** §7.1: the status values Genba ID issues. */
export const STATUS = Object.freeze({ VALID: 0, INVALID: 1, SUSPENDED: 2 });

/**
 * §4.1: `status_list` { bits, lst } → { bits, entries } (the inflated bytes), at most `limit` bytes.
 * @param {any} statusList
 * @param {number} [limit]
 * @returns {Promise<{ bits: number, entries: Uint8Array<ArrayBuffer> }>}
 */
export async function readList(statusList, limit = Infinity) {
  const list = statusList || {};
  const bits = Number(list.bits);
  if (![1, 2, 4, 8].includes(bits) || typeof list.lst !== "string") throw new FormatError("bad status list", "status");
  return { bits, entries: await decompress(bytesFromB64url(list.lst), "deflate", limit) };
}

/**
 * The entry at `index`: `bits` per entry, little-endian within each byte (§4.1).
 * @param {Uint8Array<ArrayBuffer>} entries
 * @param {number} index
 * @param {number} bits
 * @returns {number}
 */
export function statusAt(entries, index, bits) {
  const perByte = 8 / bits;
  const byte = entries[Math.floor(index / perByte)];
  if (!Number.isInteger(index) || index < 0 || byte === undefined) throw new FormatError("index outside the list", "status");
  return (byte >> ((index % perByte) * bits)) & ((1 << bits) - 1);
}
