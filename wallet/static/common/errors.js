// @ts-check
/* Genba ID: the errors the wallet and the gate page share. */

/** Input that cannot be read (base64, JSON, DER, QR payloads); `code` is stable for callers. */
export class FormatError extends Error {
  /**
   * @param {string} message
   * @param {string} [code]
   */
  constructor(message, code = "malformed") {
    super(message);
    this.code = code;
  }
}

/** An error whose message is written for the person using the page (shown as it is). */
export class UserError extends Error {
  /**
   * @param {string} message
   * @param {string} [code]
   */
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}
