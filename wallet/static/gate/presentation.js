// @ts-check
/* Genba ID gate: one offline presentation verified in the browser against the synced bundle — a mirror of
 * wallet/verifier.py verify and check_status, with the same reason codes and words (docs/offline-gate.md §4):
 *
 * - the x5c leaf certificate chains to the pinned root (ECDSA P-256 / SHA-256, common/x509.js, WebCrypto)
 *   and names the credential's iss in a URI SAN (SD-JWT VC §3.5: the gate's own request-signing
 *   certificate, under the same root, names a host only);
 * - the issuer JWT signature (ES256) and typ, every disclosure digest (each digest at most once) and the
 *   KB-JWT (cnf.jwk, typ kb+jwt, aud, nonce, sd_hash, iat within 60 s) with common/sdjwt.js;
 * - expiry, and the credential's iat inside the signing key's use period (its certificate's start to
 *   notAfter − CREDENTIAL_MAX_DAYS, wallet/keys.py): a retired key signs nothing accepted here;
 * - the status from the synced status list (its signature checked with the issuer key of its kid; a list
 *   older than ttl + 12 h fails closed).
 */

import { bytesFromBase64 } from "../common/base64url.js";
import { importJwk, splitJws, verifyJws } from "../common/jws.js";
import { SdJwtError, parse, resolve, verifyIssuerJwt, verifyKeyBinding } from "../common/sdjwt.js";
import { STATUS, readList, statusAt } from "../common/statuslist.js";
import { certificateSignedBy, importSpki, parseCertificate, pemToDer, sameBytes } from "../common/x509.js";

const SKEW_S = 60;
const STATUS_GRACE_S = 12 * 3600;
const DAY_MS = 24 * 3600 * 1000;
const CREDENTIAL_MAX_DAYS = 365; // wallet/keys.py: a key's certificate outlives its use period by this

/** Why the gate says no: a stable `code` and the words shown in Japanese and English. */
export class Refusal extends Error {
  /**
   * @param {string} code
   * @param {string} ja
   * @param {string} en
   */
  constructor(code, ja, en) {
    super(en);
    this.code = code;
    this.ja = ja;
    this.en = en;
  }
}

const TAMPERED = "資格情報が改ざんされているか形式が正しくありません";
const NOT_BOUND = "提示した本人の確認に失敗しました";

/**
 * An SD-JWT error as the gate words it: a key binding failure names the holder, anything else tampering.
 * @param {unknown} error
 * @param {string} ja
 */
function refusalOf(error, ja = TAMPERED) {
  if (error instanceof SdJwtError) return new Refusal(error.code, ja, error.message);
  return error;
}

// -- the issuer: x5c chained to the pinned root ------------------------------------------------------

const rootCache = new Map();

/** @param {string} rootPem */
async function pinnedRoot(rootPem) {
  if (!rootCache.has(rootPem)) {
    rootCache.set(
      rootPem,
      (async () => {
        const cert = parseCertificate(pemToDer(rootPem));
        return { cert, key: await importSpki(cert.spki) };
      })(),
    );
  }
  return rootCache.get(rootPem);
}

/**
 * The x5c leaf under the pinned root, valid now, certifying `issuer` by a URI SAN (SD-JWT VC §3.5).
 * @param {any} header
 * @param {string} rootPem
 * @param {number} nowMs
 * @param {string} issuer
 */
async function issuerKey(header, rootPem, nowMs, issuer) {
  const x5c = header.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0 || typeof x5c[0] !== "string") {
    throw new Refusal("no_chain", "発行者の証明書がありません", "the credential has no issuer certificate");
  }
  const untrusted = (/** @type {string} */ en) => new Refusal("untrusted_issuer", "信頼できない発行者です", en);
  let leaf;
  let root;
  try {
    leaf = parseCertificate(bytesFromBase64(x5c[0], false));
    root = await pinnedRoot(rootPem);
  } catch {
    throw untrusted("untrusted issuer (the certificate cannot be read)");
  }
  if (!(await certificateSignedBy(leaf, root.key))) throw untrusted("the issuer certificate is not from the root");
  if (!sameBytes(leaf.issuer, root.cert.subject) || nowMs < leaf.notBefore || nowMs > leaf.notAfter) {
    throw untrusted("the issuer certificate is not valid now or not issued by the pinned root");
  }
  if (!leaf.uris.includes(issuer)) throw untrusted("the certificate does not name the credential issuer");
  try {
    return { key: await importSpki(leaf.spki), leaf };
  } catch {
    throw untrusted("the issuer certificate has no P-256 key");
  }
}

/**
 * wallet/verifier.py _signed_in_use_period: iat not in the future, inside the key's use period.
 * @param {unknown} iat
 * @param {{ notBefore: number, notAfter: number }} leaf
 * @param {number} nowMs
 */
function signedInUsePeriod(iat, leaf, nowMs) {
  if (typeof iat !== "number" || !Number.isInteger(iat)) {
    throw new Refusal("malformed", "読み取れない資格情報です", "the credential has no issue time (iat)");
  }
  const issued = iat * 1000;
  if (issued > nowMs + SKEW_S * 1000) throw new Refusal("invalid_iat", "発行日時が未来の資格情報です", "the credential is dated in the future");
  if (issued < leaf.notBefore - SKEW_S * 1000 || issued > leaf.notAfter - CREDENTIAL_MAX_DAYS * DAY_MS + SKEW_S * 1000) {
    throw new Refusal(
      "untrusted_issuer",
      "信頼できない発行者です（署名鍵の使用期間外に発行されています）",
      "the credential is dated outside its signing key's use period (retired or backdated key)",
    );
  }
}

/**
 * One presentation (wallet/verifier.py verify): { claims, vct, statusUri, statusIndex } or a Refusal.
 * @param {string} presentation
 * @param {{ nowMs: number, aud: string, nonce: string, rootPem: string }} expected
 */
export async function verifyPresentation(presentation, { nowMs, aud, nonce, rootPem }) {
  let parsed;
  try {
    parsed = parse(presentation);
  } catch (error) {
    throw refusalOf(error);
  }
  let header;
  let unverified;
  try {
    ({ header, payload: unverified } = splitJws(parsed.issuerJwt));
  } catch {
    throw new Refusal("malformed", "読み取れない資格情報です", "the credential cannot be read");
  }
  if (!unverified || typeof unverified.iss !== "string") {
    throw new Refusal("malformed", "読み取れない資格情報です", "the credential has no issuer");
  }
  const { key, leaf } = await issuerKey(header, rootPem, nowMs, unverified.iss);
  let claims;
  try {
    const { payload } = await verifyIssuerJwt(parsed.issuerJwt, key);
    claims = await resolve(payload, parsed.disclosures);
  } catch (error) {
    throw refusalOf(error);
  }
  const now = Math.floor(nowMs / 1000);
  if (!Number.isInteger(claims.exp) || claims.exp + SKEW_S < nowMs / 1000) {
    throw new Refusal("expired", "資格情報の有効期限が切れています", "the credential has expired");
  }
  signedInUsePeriod(claims.iat, leaf, nowMs);
  const cnf = claims.cnf && typeof claims.cnf === "object" ? claims.cnf.jwk : null;
  if (!cnf || typeof cnf !== "object") {
    throw new Refusal("no_holder_key", "本人確認用の鍵がありません", "the credential is not bound to a holder key");
  }
  try {
    await verifyKeyBinding(parsed, cnf, { aud, nonce, now, skew: SKEW_S });
  } catch (error) {
    throw refusalOf(error, NOT_BOUND);
  }
  const reference = claims.status && typeof claims.status === "object" ? claims.status.status_list : null;
  return {
    claims,
    vct: String(claims.vct),
    statusUri: reference && typeof reference.uri === "string" ? reference.uri : null,
    statusIndex: reference ? reference.idx : null,
  };
}

// -- status (IETF Token Status List, wallet/verifier.py check_status) ----------------------------------

const listCache = new Map(); // token -> Promise<{ entries, bits }> (the inflated list of a synced token)

/**
 * The credential's entry in a synced status list token signed by `signerJwk`: 0 (valid), else a Refusal.
 * @param {{ statusUri: string | null, statusIndex: unknown }} item
 * @param {string} token
 * @param {any} signerJwk
 * @param {number} nowMs
 * @returns {Promise<number>}
 */
export async function checkStatus(item, token, signerJwk, nowMs) {
  const invalid = (/** @type {string} */ ja, /** @type {string} */ en) => new Refusal("status_list_invalid", ja, en);
  let jws;
  try {
    jws = await verifyJws(token, await importJwk(signerJwk));
  } catch {
    jws = null;
  }
  if (!jws) throw invalid("失効情報の署名が正しくありません", "the status list does not verify");
  const claims = jws.payload || {};
  if (jws.header.typ !== "statuslist+jwt" || claims.sub !== item.statusUri) {
    throw invalid("失効情報が正しくありません", "the status list is not this credential's");
  }
  const iat = Number(claims.iat) || 0;
  const ttl = Number(claims.ttl) || 0;
  const now = nowMs / 1000;
  if ((Number.isInteger(claims.exp) && claims.exp < now) || now > iat + ttl + STATUS_GRACE_S) {
    throw new Refusal(
      "status_list_stale",
      "失効情報が古いため確認できません（同期してください）",
      "the status list is too old to trust; sync the gate",
    );
  }
  let value;
  try {
    if (!listCache.has(token)) listCache.set(token, readList(claims.status_list, 64 << 20));
    const list = await listCache.get(token);
    value = statusAt(list.entries, Number(item.statusIndex || 0), list.bits);
  } catch {
    listCache.delete(token);
    throw invalid("失効情報が読み取れません", "the status list cannot be read");
  }
  if (value === STATUS.INVALID) throw new Refusal("revoked", "資格情報は失効しています", "the credential has been revoked");
  if (value === STATUS.SUSPENDED) throw new Refusal("suspended", "資格情報は一時停止中です", "the credential is suspended");
  return value;
}
