/* Genba ID: what the wallet and the gate page share (vanilla JavaScript, no build step).
 *
 * - base64url, SHA-256, DEFLATE through the browser's CompressionStream / DecompressionStream;
 * - the offline gate profile's QR payloads (docs/offline-gate.md): the GC1 challenge and the GP1
 *   presentation, split into frames GP1/<i>/<n>:<chunk> when it does not fit one QR code;
 * - drawing a QR code on a canvas (vendored qrcode-generator) and reading QR codes from the camera
 *   (BarcodeDetector where the browser has it, else the vendored jsQR on canvas frames);
 * - DER (X.509) reading enough to check an ES256 certificate chain with WebCrypto, and JWS ES256;
 * - the site requirements per kind of work (mirror of wallet/gate/requirements.py) and DCQL claim
 *   matching (OpenID4VP 1.0 §6–7);
 * - the two pages' common helpers: Japanese first text with an English switch, building DOM nodes,
 *   notice boxes, an IndexedDB database and registering the service worker.
 */
"use strict";

(function (global) {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { fatal: true });

  class FormatError extends Error {
    constructor(message, code = "malformed") {
      super(message);
      this.code = code;
    }
  }

  // -- base64 and hashing ------------------------------------------------------------------------------

  function b64urlFromBytes(bytes) {
    let binary = "";
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    for (let i = 0; i < view.length; i += 0x8000) binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function bytesFromBase64(text, url = true) {
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

  const bytesFromB64url = (text) => bytesFromBase64(text, true);

  function textFromBytes(bytes) {
    try {
      return decoder.decode(bytes);
    } catch {
      throw new FormatError("not UTF-8");
    }
  }

  function jsonFromB64url(text) {
    try {
      return JSON.parse(textFromBytes(bytesFromB64url(text)));
    } catch (error) {
      if (error instanceof FormatError) throw error;
      throw new FormatError("not JSON");
    }
  }

  function b64urlJson(value) {
    return b64urlFromBytes(encoder.encode(JSON.stringify(value)));
  }

  async function sha256(text) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", typeof text === "string" ? encoder.encode(text) : text));
  }

  async function sha256B64url(text) {
    return b64urlFromBytes(await sha256(text));
  }

  async function sha256Hex(text) {
    return [...(await sha256(text))].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  function randomB64url(bytes = 16) {
    return b64urlFromBytes(crypto.getRandomValues(new Uint8Array(bytes)));
  }

  // -- DEFLATE -------------------------------------------------------------------------------------------

  async function compress(bytes, format = "deflate-raw") {
    const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream(format));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  /** Inflate with a ceiling on the output (a small QR code must not unpack into gigabytes). */
  async function decompress(bytes, format = "deflate-raw", limit = 2_000_000) {
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

  // -- the offline gate profile: GC1 challenge, GP1 presentation -------------------------------------

  const CHALLENGE = "GC1:";
  const PRESENTATION = "GP1";
  /** Bytes of a version 40 QR code in byte mode at level L (2,953), less a margin for the prefix. */
  const QR_MAX = 2900;

  function encodeChallenge(c) {
    return CHALLENGE + b64urlJson({ v: 1, s: c.site_id, g: c.gate_id, k: c.work_kind, n: c.nonce, t: c.time, a: c.audience });
  }

  function decodeChallenge(text) {
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
    return { site_id: body.s, gate_id: body.g, work_kind: body.k, nonce: body.n, time: body.t, audience: body.a };
  }

  async function encodePresentation(nonce, vpToken, maxFrame = QR_MAX) {
    const packed = await compress(encoder.encode(JSON.stringify({ n: nonce, vp: vpToken })));
    const text = b64urlFromBytes(packed);
    if (text.length + PRESENTATION.length + 1 <= maxFrame) return [`${PRESENTATION}:${text}`];
    const size = maxFrame - 16;
    const chunks = [];
    for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
    return chunks.map((chunk, i) => `${PRESENTATION}/${i + 1}/${chunks.length}:${chunk}`);
  }

  function isPresentationFrame(text) {
    return typeof text === "string" && (text.startsWith(PRESENTATION + ":") || /^GP1\/\d+\/\d+:/.test(text));
  }

  /** Reassemble (any order, duplicates ignored) and unpack: { nonce, vp }. */
  async function decodePresentation(frames) {
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
  class FrameCollector {
    constructor() {
      this.reset();
    }

    reset() {
      this.parts = new Map();
      this.total = 0;
    }

    /** Returns the complete list of frames once every one has been seen, else null. */
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

  // -- QR codes: drawing and reading -----------------------------------------------------------------------

  /** Draw `text` as a QR code (byte mode, level L unless given) on a canvas of about `size` pixels. */
  function drawQr(canvas, text, { size = 640, level = "L", margin = 4 } = {}) {
    const qr = global.qrcode(0, level);
    qr.addData(text, "Byte");
    qr.make();
    const count = qr.getModuleCount();
    const cell = Math.max(2, Math.floor(size / (count + 2 * margin)));
    const pixels = (count + 2 * margin) * cell;
    canvas.width = pixels;
    canvas.height = pixels;
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, pixels, pixels);
    context.fillStyle = "#000";
    for (let row = 0; row < count; row++) {
      for (let col = 0; col < count; col++) {
        if (qr.isDark(row, col)) context.fillRect((col + margin) * cell, (row + margin) * cell, cell, cell);
      }
    }
    canvas.dataset.modules = String(count);
    return count;
  }

  function jsQrDecoder() {
    const lib = global.jsQR;
    if (typeof lib === "function") return lib;
    if (lib && typeof lib.default === "function") return lib.default;
    return null;
  }

  /** QR codes in an ImageData (or a canvas region) with jsQR: the decoded text, or null. */
  function decodeImageData(image) {
    const decode = jsQrDecoder();
    if (!decode) throw new FormatError("no QR decoder", "decoder");
    const found = decode(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  }

  /**
   * Reads QR codes from the camera: getUserMedia into a <video>, then every ~120 ms BarcodeDetector
   * (where the browser has it) or jsQR on a canvas copy of the frame; `onText` gets every code read.
   */
  class Scanner {
    constructor(video, onText, { facingMode = "environment", interval = 120, maxWidth = 1280 } = {}) {
      this.video = video;
      this.onText = onText;
      this.facingMode = facingMode;
      this.interval = interval;
      this.maxWidth = maxWidth;
      this.running = false;
      this.stream = null;
      this.detector = null;
      this.canvas = document.createElement("canvas");
      this.timer = null;
    }

    async start() {
      if (this.running) return;
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new FormatError("no camera", "camera");
      this.running = true;
      try {
        this.stream = await navigator.mediaDevices.getUserMedia({
          audio: false,
          video: { facingMode: { ideal: this.facingMode }, width: { ideal: 1280 }, height: { ideal: 720 } },
        });
      } catch (error) {
        this.running = false;
        throw new FormatError(error && error.name ? error.name : "camera", "camera");
      }
      if (!this.running) {
        this.release();
        return;
      }
      this.video.srcObject = this.stream;
      this.video.muted = true;
      this.video.setAttribute("playsinline", "");
      await this.video.play().catch(() => {});
      this.detector = await Scanner.barcodeDetector();
      this.video.dataset.decoder = this.detector ? "barcode-detector" : "jsqr";
      this.video.dataset.scanning = "true";
      this.schedule();
    }

    static async barcodeDetector() {
      try {
        if (!("BarcodeDetector" in global)) return null;
        const formats = await global.BarcodeDetector.getSupportedFormats();
        return formats.includes("qr_code") ? new global.BarcodeDetector({ formats: ["qr_code"] }) : null;
      } catch {
        return null;
      }
    }

    schedule() {
      if (!this.running) return;
      this.timer = setTimeout(() => this.tick(), this.interval);
    }

    async tick() {
      if (!this.running) return;
      try {
        for (const text of await this.detect()) {
          if (!this.running) return;
          this.onText(text);
        }
      } catch {
        // a frame that cannot be read: try the next one
      }
      this.schedule();
    }

    async detect() {
      const video = this.video;
      if (video.readyState < 2 || !video.videoWidth) return [];
      if (this.detector) {
        const codes = await this.detector.detect(video);
        return codes.map((c) => c.rawValue).filter(Boolean);
      }
      const scale = Math.min(1, this.maxWidth / video.videoWidth);
      const width = Math.round(video.videoWidth * scale);
      const height = Math.round(video.videoHeight * scale);
      this.canvas.width = width;
      this.canvas.height = height;
      const context = this.canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(video, 0, 0, width, height);
      const text = decodeImageData(context.getImageData(0, 0, width, height));
      return text ? [text] : [];
    }

    release() {
      if (this.stream) for (const track of this.stream.getTracks()) track.stop();
      this.stream = null;
    }

    stop() {
      this.running = false;
      clearTimeout(this.timer);
      this.release();
      this.video.srcObject = null;
      this.video.dataset.scanning = "false";
    }
  }

  // -- DER and X.509 (just what an ES256 chain check needs) --------------------------------------------

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

  function sameBytes(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

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

  /** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING } (RFC 5280 §4.1). */
  function parseCertificate(der) {
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
    const oid = (node) => {
      const first = derChildren(node)[0];
      return first && first.tag === 0x06 ? first.value : new Uint8Array();
    };
    const dnsNames = [];
    const uris = [];
    const extensions = fields.slice(i).find((f) => f.tag === 0xa3);
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

  function pemToDer(pem) {
    const body = String(pem).replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
    return bytesFromBase64(body, false);
  }

  /** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } → r || s, 32 bytes each (WebCrypto's form). */
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

  const ECDSA = { name: "ECDSA", namedCurve: "P-256" };
  const ES256 = { name: "ECDSA", hash: "SHA-256" };

  function importSpki(spki) {
    return crypto.subtle.importKey("spki", spki, ECDSA, false, ["verify"]);
  }

  function importJwk(jwk) {
    if (!jwk || jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.x !== "string" || typeof jwk.y !== "string") {
      throw new FormatError("not a P-256 key", "key");
    }
    return crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, ECDSA, false, ["verify"]);
  }

  /** The certificate is signed (ECDSA with SHA-256) by `issuerKey`. */
  async function certificateSignedBy(cert, issuerKey) {
    if (!sameBytes(cert.signatureAlgorithm, OID_ECDSA_SHA256)) return false;
    try {
      return await crypto.subtle.verify(ES256, issuerKey, ecdsaDerToRaw(cert.signature), cert.tbs);
    } catch {
      return false;
    }
  }

  /** Compact JWS: { header, payload, signingInput, signature }; no verification. */
  function splitJws(token) {
    const parts = String(token).split(".");
    if (parts.length !== 3) throw new FormatError("not a JWT");
    return {
      header: jsonFromB64url(parts[0]),
      payload: jsonFromB64url(parts[1]),
      signingInput: encoder.encode(`${parts[0]}.${parts[1]}`),
      signature: bytesFromB64url(parts[2]),
    };
  }

  /** ES256 only (RFC 7518 §3.4: r || s). */
  async function verifyJws(token, key) {
    const jws = splitJws(token);
    if (jws.header.alg !== "ES256" || jws.signature.length !== 64) return null;
    let ok = false;
    try {
      ok = await crypto.subtle.verify(ES256, key, jws.signature, jws.signingInput);
    } catch {
      ok = false;
    }
    return ok ? jws : null;
  }

  // -- requirements per kind of work (wallet/gate/requirements.py) -----------------------------------

  const INSURED = ["enrolled", "exempt"];
  const CARD_CLAIMS = ["technician_id", "name", "level", "level_colour"];
  const COURSES = {
    tamakake: ["玉掛け技能講習", "sling work (tamakake)"],
    "kogata-crane": ["小型移動式クレーン運転技能講習", "small mobile crane"],
    forklift: ["フォークリフト運転技能講習", "forklift"],
    "ashiba-shunin": ["足場の組立て等作業主任者技能講習", "scaffolding chief"],
    "full-harness": ["フルハーネス型墜落制止用器具特別教育", "full-body harness"],
  };
  const WORK_KINDS = {
    general: ["一般作業", "general work", []],
    crane: ["クレーン作業", "crane work", ["tamakake", "kogata-crane"]],
    height: ["高所作業", "work at height", ["full-harness"]],
  };
  const CARD_VCT = "ccus-technician-card";
  const CERTIFICATE_VCT = "skill-training-certificate";

  function cardQuery(issuer) {
    return {
      id: "ccus_card",
      format: "dc+sd-jwt",
      meta: { vct_values: [`${issuer}/vct/${CARD_VCT}`] },
      claims: [
        ...CARD_CLAIMS.map((c) => ({ path: [c] })),
        ...["health", "pension", "employment"].map((k) => ({ path: ["social_insurance", k], values: INSURED })),
      ],
    };
  }

  function courseQuery(issuer, code) {
    return {
      id: `course_${code.replace(/-/g, "_")}`,
      format: "dc+sd-jwt",
      meta: { vct_values: [`${issuer}/vct/${CERTIFICATE_VCT}`] },
      // technician_id: the gate joins a certificate to the card by the holder's 技能者ID, not by a name
      claims: [
        { path: ["course_code"], values: [code] },
        { path: ["course_name"] },
        { path: ["completed_on"] },
        { path: ["holder_name"] },
        { path: ["technician_id"] },
      ],
    };
  }

  function defaultDcql(issuer, workKind) {
    const courses = (WORK_KINDS[workKind] || WORK_KINDS.general)[2];
    return { credentials: [cardQuery(issuer), ...courses.map((c) => courseQuery(issuer, c))] };
  }

  /** Plain words for a credential query: the course's certificate, else the card. [ja, en] */
  function describe(query) {
    for (const claim of query.claims || []) {
      if (Array.isArray(claim.path) && claim.path.length === 1 && claim.path[0] === "course_code" && Array.isArray(claim.values) && claim.values.length) {
        const code = claim.values[0];
        const [ja, en] = COURSES[code] || [String(code), String(code)];
        return [`${ja}の修了証`, `the ${en} certificate`];
      }
    }
    return ["建設キャリアアップカード", "the CCUS card"];
  }

  /** DCQL claims path (§7): strings select object members, integers array elements. [present, value] */
  function claimAt(claims, path) {
    let node = claims;
    for (const step of path) {
      if (node && typeof node === "object" && !Array.isArray(node) && typeof step === "string") {
        if (!Object.prototype.hasOwnProperty.call(node, step)) return [false, null];
        node = node[step];
      } else if (Array.isArray(node) && Number.isInteger(step) && step >= 0 && step < node.length) {
        node = node[step];
      } else {
        return [false, null];
      }
    }
    return [true, node];
  }

  function sameValue(a, b) {
    return a === b || (typeof a === "object" && a !== null && JSON.stringify(a) === JSON.stringify(b));
  }

  /** null if the credential answers the query, else "vct" or the claim path that is missing or wrong. */
  function satisfies(query, vct, claims) {
    const accepted = query.meta && Array.isArray(query.meta.vct_values) ? query.meta.vct_values : null;
    if (accepted && !accepted.includes(vct)) return "vct";
    for (const claim of query.claims || []) {
      const [present, value] = claimAt(claims, claim.path);
      if (!present) return claim.path.join(".");
      if (Array.isArray(claim.values) && !claim.values.some((v) => sameValue(v, value))) return claim.path.join(".");
    }
    return null;
  }

  /** { code, ja, en }: the reason a query is not answered (wallet/gate/requirements.py missing_reason). */
  function missingReason(query, problem) {
    const [ja, en] = describe(query);
    if (problem && problem.startsWith("social_insurance")) {
      return { ja: "社会保険の加入が確認できません", en: "social insurance enrolment is not confirmed" };
    }
    if (problem === null || problem === undefined || problem === "vct") return { ja: `${ja}がありません`, en: `${en} is missing` };
    if (problem === "technician_id" && ja.endsWith("修了証")) {
      return { ja: `${ja}に技能者IDがありません（ウォレットで受け取り直してください）`, en: `${en} carries no technician ID (receive it again in the wallet)` };
    }
    return { ja: `${ja}の必要な項目（${problem}）が提示されていません`, en: `${en} lacks ${problem}` };
  }

  /** Top-level claim names a wallet must disclose for this query, in the query's order (everything else
   * stays hidden). */
  function revealedClaims(query) {
    return [...new Set((query.claims || []).map((c) => String(c.path[0])))];
  }

  /** `kind` when it is one of WORK_KINDS, else "general". */
  function knownWorkKind(kind) {
    return Object.prototype.hasOwnProperty.call(WORK_KINDS, kind) ? kind : "general";
  }

  // -- page helpers: language, DOM, IndexedDB, service worker -------------------------------------------

  /** An error whose message is written for the person using the page (shown as it is). */
  class UserError extends Error {
    constructor(message, code) {
      super(message);
      this.code = code;
    }
  }

  /**
   * The page's language, Japanese first: English only when chosen on this device before (kept in
   * localStorage under `storageKey`). `text` is { ja: { key: "…{name}…" }, en: { … } }; a key missing in
   * English falls back to Japanese. The page has a switch button #lang and [data-i18n] elements.
   */
  function language(text, storageKey) {
    let lang;
    try {
      lang = localStorage.getItem(storageKey) === "en" ? "en" : "ja";
    } catch {
      lang = "ja";
    }

    function t(key, values = {}) {
      const template = text[lang][key] ?? text.ja[key] ?? key;
      return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
    }

    const locale = () => (lang === "en" ? "en-US" : "ja-JP");

    /** <html lang>, every [data-i18n] element, the switch (named in the other language) and the title. */
    function apply() {
      document.documentElement.lang = lang;
      for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
      const switcher = document.querySelector("#lang");
      switcher.textContent = t("lang_switch");
      switcher.lang = lang === "ja" ? "en" : "ja";
      document.title = t("app_name");
    }

    /** The switch toggles ja ⇄ en, keeps the choice where it can, then calls `onChange`. */
    function bindSwitch(onChange) {
      document.querySelector("#lang").addEventListener("click", () => {
        lang = lang === "ja" ? "en" : "ja";
        try {
          localStorage.setItem(storageKey, lang);
        } catch {
          // private mode: the choice lasts for this page only
        }
        onChange(lang);
      });
    }

    return Object.freeze({
      get lang() {
        return lang;
      },
      t,
      locale,
      dateTime: (ms) => new Date(ms).toLocaleString(locale(), { dateStyle: "short", timeStyle: "short" }),
      apply,
      bindSwitch,
    });
  }

  const $ = (selector, root = document) => root.querySelector(selector);

  /** A new element: attributes (`class`, `text` for its text, null/undefined/false left out), then children. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Puts `text` in a notice box and shows it; no text hides the box. */
  function showText(box, text) {
    box.textContent = text || "";
    box.hidden = !text;
    return box;
  }

  /** A photo the page may show: a PNG or JPEG data URL (never a link that would fetch something). */
  function isImageDataUrl(value) {
    return typeof value === "string" && /^data:image\/(png|jpeg);base64,/.test(value);
  }

  /**
   * The IndexedDB database `name` (version 1; `upgrade(db)` creates its stores), opened on first use:
   * returns run(store, mode, work), which calls work(objectStore) in one transaction and resolves once
   * it has completed with the result of the request `work` returned (if any).
   */
  function database(name, upgrade) {
    let opening = null;
    function open() {
      if (!opening) {
        opening = new Promise((resolve, reject) => {
          const request = indexedDB.open(name, 1);
          request.onupgradeneeded = () => upgrade(request.result);
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
      }
      return opening;
    }
    return async function run(store, mode, work) {
      const db = await open();
      return new Promise((resolve, reject) => {
        const tx = db.transaction(store, mode);
        let result;
        const request = work(tx.objectStore(store));
        if (request) request.onsuccess = () => (result = request.result);
        tx.oncomplete = () => resolve(result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error || new Error("aborted"));
      });
    };
  }

  /** The page's service worker (sw-core.js caches its files), where the browser has them. */
  function registerWorker(url, scope) {
    if ("serviceWorker" in navigator) navigator.serviceWorker.register(url, { scope }).catch(() => {});
  }

  global.Genba = Object.freeze({
    FormatError,
    encoder,
    b64urlFromBytes,
    bytesFromB64url,
    bytesFromBase64,
    jsonFromB64url,
    b64urlJson,
    textFromBytes,
    sha256,
    sha256B64url,
    sha256Hex,
    randomB64url,
    compress,
    decompress,
    CHALLENGE,
    QR_MAX,
    encodeChallenge,
    decodeChallenge,
    encodePresentation,
    decodePresentation,
    isPresentationFrame,
    FrameCollector,
    drawQr,
    decodeImageData,
    Scanner,
    parseCertificate,
    pemToDer,
    sameBytes,
    importSpki,
    importJwk,
    certificateSignedBy,
    splitJws,
    verifyJws,
    COURSES,
    WORK_KINDS,
    defaultDcql,
    describe,
    claimAt,
    satisfies,
    missingReason,
    revealedClaims,
    knownWorkKind,
    UserError,
    language,
    $,
    el,
    showText,
    isImageDataUrl,
    database,
    registerWorker,
  });
})(self);
