// @ts-check
/* Genba ID: the offline gate profile's QR payloads (docs/offline-gate.md): the gate's GC1 challenge and
 * the wallet's GP1 presentation (DEFLATE'd JSON, base64url), split into frames GP1/<i>/<n>:<chunk> when it
 * does not fit one QR code, and collected again in any order. */

import { b64urlFromBytes, b64urlJson, bytesFromB64url, encoder, jsonFromB64url, textFromBytes } from "./base64url.js";
import { compress, decompress } from "./deflate.js";
import { FormatError } from "./errors.js";

export const CHALLENGE = "GC1:";
const PRESENTATION = "GP1";
/** Bytes of a version 40 QR code in byte mode at level L (2,953), less a margin for the prefix. */
export const QR_MAX = 2900;

/** The longest site or company name a challenge carries (it must stay one small QR code). */
export const NAME_MAX = 24;

/**
 * `site_name` and `prime_name` (optional, `sn` and `pn`): who asks, in words, for the wallet to show.
 * @typedef {{ site_id: string, gate_id: string, work_kind: string, nonce: string, time: number, audience: string,
 *   site_name?: string, prime_name?: string }} Challenge
 */

/**
 * @param {unknown} name
 * @returns {string}
 */
const shortName = (name) => {
  const chars = [...String(name || "")];
  return chars.length > NAME_MAX ? chars.slice(0, NAME_MAX - 1).join("") + "…" : chars.join("");
};

/**
 * @param {Challenge} c
 * @returns {string}
 */
export function encodeChallenge(c) {
  /** @type {Record<string, unknown>} */
  const body = { v: 1, s: c.site_id, g: c.gate_id, k: c.work_kind, n: c.nonce, t: c.time, a: c.audience };
  if (c.site_name) body.sn = shortName(c.site_name);
  if (c.prime_name) body.pn = shortName(c.prime_name);
  return CHALLENGE + b64urlJson(body);
}

/**
 * @param {unknown} text
 * @returns {Challenge}
 */
export function decodeChallenge(text) {
  const value = String(text || "").trim();
  if (!value.startsWith(CHALLENGE) || value.length > 600) throw new FormatError("not a gate challenge", "challenge");
  let body;
  try {
    body = jsonFromB64url(value.slice(CHALLENGE.length));
  } catch {
    throw new FormatError("the challenge cannot be read", "challenge");
  }
  const fields = ["s", "g", "k", "n", "a"];
  if (!body || typeof body !== "object" || fields.some((f) => typeof body[f] !== "string") || !Number.isInteger(body.t)) {
    throw new FormatError("the challenge cannot be read", "challenge");
  }
  const named = (/** @type {unknown} */ value) => (typeof value === "string" ? shortName(value) : "");
  return {
    site_id: body.s,
    gate_id: body.g,
    work_kind: body.k,
    nonce: body.n,
    time: body.t,
    audience: body.a,
    site_name: named(body.sn),
    prime_name: named(body.pn),
  };
}

/**
 * The frames of a presentation: one `GP1:<data>`, or `GP1/<i>/<n>:<chunk>` each at most `maxFrame` long.
 * @param {string} nonce
 * @param {object} vpToken
 * @param {number} [maxFrame]
 * @returns {Promise<string[]>}
 */
export async function encodePresentation(nonce, vpToken, maxFrame = QR_MAX) {
  const packed = await compress(encoder.encode(JSON.stringify({ n: nonce, vp: vpToken })));
  const text = b64urlFromBytes(packed);
  if (text.length + PRESENTATION.length + 1 <= maxFrame) return [`${PRESENTATION}:${text}`];
  const size = maxFrame - 16;
  const chunks = [];
  for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
  return chunks.map((chunk, i) => `${PRESENTATION}/${i + 1}/${chunks.length}:${chunk}`);
}

/**
 * @param {unknown} text
 * @returns {boolean}
 */
export function isPresentationFrame(text) {
  return typeof text === "string" && (text.startsWith(PRESENTATION + ":") || /^GP1\/\d+\/\d+:/.test(text));
}

/**
 * Reassemble (any order, duplicates ignored) and unpack: { nonce, vp }.
 * @param {string[]} frames
 * @returns {Promise<{ nonce: string, vp: any }>}
 */
export async function decodePresentation(frames) {
  if (!frames || frames.length === 0) throw new FormatError("no presentation");
  let text;
  if (frames.length === 1 && frames[0].startsWith(PRESENTATION + ":")) {
    text = frames[0].slice(PRESENTATION.length + 1);
  } else {
    const parts = new Map();
    let total = 0;
    for (const frame of frames) {
      const match = /^GP1\/(\d+)\/(\d+):(.*)$/s.exec(frame);
      if (!match) throw new FormatError("not a presentation frame");
      parts.set(Number(match[1]), match[3]);
      total = Number(match[2]);
    }
    for (let i = 1; i <= total; i++) if (!parts.has(i)) throw new FormatError("some frames are missing");
    if (total === 0 || parts.size !== total) throw new FormatError("some frames are missing");
    text = Array.from({ length: total }, (_, i) => parts.get(i + 1)).join("");
  }
  let body;
  try {
    body = JSON.parse(textFromBytes(await decompress(bytesFromB64url(text))));
  } catch {
    throw new FormatError("the presentation is truncated or damaged");
  }
  if (!body || typeof body !== "object" || typeof body.n !== "string" || !body.vp || typeof body.vp !== "object") {
    throw new FormatError("the presentation is truncated or damaged");
  }
  return { nonce: body.n, vp: body.vp };
}

/** Collects the frames of an animated presentation QR as the camera sees them, in any order. */
export class FrameCollector {
  constructor() {
    /** @type {Map<number, string>} */
    this.parts = new Map();
    this.total = 0;
  }

  reset() {
    this.parts = new Map();
    this.total = 0;
  }

  /**
   * Returns the complete list of frames once every one has been seen, else null.
   * @param {unknown} text
   * @returns {string[] | null}
   */
  add(text) {
    if (typeof text !== "string") return null;
    if (text.startsWith(PRESENTATION + ":")) {
      this.reset();
      return [text];
    }
    const match = /^GP1\/(\d+)\/(\d+):/.exec(text);
    if (!match) return null;
    const [index, total] = [Number(match[1]), Number(match[2])];
    if (total < 1 || index < 1 || index > total || total > 64) return null;
    if (total !== this.total) {
      this.parts = new Map();
      this.total = total;
    }
    this.parts.set(index, text);
    return this.parts.size === this.total ? [...this.parts.values()] : null;
  }

  get seen() {
    return this.parts.size;
  }
}
