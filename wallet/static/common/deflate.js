// @ts-check
/* Genba ID: DEFLATE (RFC 1951, raw) and zlib (RFC 1950) through the platform's CompressionStream and
 * DecompressionStream — the offline gate profile's GP1 payload and the Token Status List's `lst`. */

import { FormatError } from "./errors.js";

/**
 * @param {Uint8Array<ArrayBuffer>} bytes
 * @param {CompressionFormat} [format]
 * @returns {Promise<Uint8Array<ArrayBuffer>>}
 */
export async function compress(bytes, format = "deflate-raw") {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Inflate with a ceiling on the output (a small QR code must not unpack into gigabytes).
 * @param {Uint8Array<ArrayBuffer>} bytes
 * @param {CompressionFormat} [format]
 * @param {number} [limit]
 * @returns {Promise<Uint8Array<ArrayBuffer>>}
 */
export async function decompress(bytes, format = "deflate-raw", limit = 2_000_000) {
  const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format)).getReader();
  const chunks = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) throw new FormatError("too large after decompression");
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    if (error instanceof FormatError) throw error;
    throw new FormatError("damaged compressed data");
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
