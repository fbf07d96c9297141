// @ts-check
/* Genba ID: QR codes — drawing one on a canvas (qrcode-generator) and reading them from the camera
 * (BarcodeDetector where the browser has it, else jsQR on canvas frames). The two libraries are classic
 * scripts loaded by the page before its modules (wallet/static/vendor, see its README); they are looked up
 * when used, never at import, so this module also loads where they are absent. */

import { FormatError } from "./errors.js";

/** @type {any} */
const global = globalThis;

/**
 * Draw `text` as a QR code (byte mode, level L unless given) on a canvas of about `size` pixels.
 * @param {HTMLCanvasElement} canvas
 * @param {string} text
 * @param {{ size?: number, level?: string, margin?: number }} [options]
 * @returns {number} the module count
 */
export function drawQr(canvas, text, { size = 640, level = "L", margin = 4 } = {}) {
  const qr = global.qrcode(0, level);
  qr.addData(text, "Byte");
  qr.make();
  const count = qr.getModuleCount();
  const cell = Math.max(2, Math.floor(size / (count + 2 * margin)));
  const pixels = (count + 2 * margin) * cell;
  canvas.width = pixels;
  canvas.height = pixels;
  const context = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
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

/** jsQR's function: the global is the module object in its UMD build (`jsQR.default`). */
function jsQrDecoder() {
  const lib = global.jsQR;
  if (typeof lib === "function") return lib;
  if (lib && typeof lib.default === "function") return lib.default;
  return null;
}

/**
 * QR codes in an ImageData (or a canvas region) with jsQR: the decoded text, or null.
 * @param {{ data: Uint8ClampedArray, width: number, height: number }} image
 * @returns {string | null}
 */
export function decodeImageData(image) {
  const decode = jsQrDecoder();
  if (!decode) throw new FormatError("no QR decoder", "decoder");
  const found = decode(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
  return found ? found.data : null;
}

/**
 * Reads QR codes from the camera: getUserMedia into a <video>, then every ~120 ms BarcodeDetector
 * (where the browser has it) or jsQR on a canvas copy of the frame; `onText` gets every code read.
 */
export class Scanner {
  /**
   * @param {HTMLVideoElement} video
   * @param {(text: string) => void} onText
   * @param {{ facingMode?: string, interval?: number, maxWidth?: number }} [options]
   */
  constructor(video, onText, { facingMode = "environment", interval = 120, maxWidth = 1280 } = {}) {
    this.video = video;
    this.onText = onText;
    this.facingMode = facingMode;
    this.interval = interval;
    this.maxWidth = maxWidth;
    this.running = false;
    /** @type {MediaStream | null} */
    this.stream = null;
    /** @type {any} */
    this.detector = null;
    this.canvas = document.createElement("canvas");
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
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
      const name = error && typeof error === "object" && "name" in error ? String(error.name) : "";
      throw new FormatError(name || "camera", "camera");
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

  /** @returns {Promise<string[]>} */
  async detect() {
    const video = this.video;
    if (video.readyState < 2 || !video.videoWidth) return [];
    if (this.detector) {
      const codes = await this.detector.detect(video);
      return codes.map((/** @type {{ rawValue: string }} */ c) => c.rawValue).filter(Boolean);
    }
    const scale = Math.min(1, this.maxWidth / video.videoWidth);
    const width = Math.round(video.videoWidth * scale);
    const height = Math.round(video.videoHeight * scale);
    this.canvas.width = width;
    this.canvas.height = height;
    const context = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext("2d", { willReadFrequently: true }));
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
