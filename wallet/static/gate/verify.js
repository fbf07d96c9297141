/* Genba ID gate: verifying an offline presentation in the browser with no network, against the synced
 * bundle (docs/offline-gate.md §4). A mirror of wallet/gate/offline_check.py, wallet/gate/check.py and
 * wallet/verifier.py, with the same reasons in the same words:
 *
 * 1. the challenge is this gate's current one, at most 5 minutes old, for this site; the gate's clock
 *    agrees with the bundle;
 * 2. each presentation: the x5c leaf certificate chains to the pinned root (ECDSA P-256 / SHA-256,
 *    DER read by hand, WebCrypto) and names the credential's iss in a URI SAN (SD-JWT VC §3.5: the
 *    gate's own request-signing certificate, under the same root, names a host only), the issuer JWT
 *    signature (ES256), every disclosure digest (each digest at most once), the
 *    KB-JWT (cnf.jwk, typ kb+jwt, aud, nonce, sd_hash, iat within 60 s), expiry, and the status from
 *    the synced status list (its signature checked with the issuer key of its kid; a list older than
 *    ttl + 12 h fails closed);
 *    The credential's iat must fall in the signing key's use period (its certificate's start to
 *    notAfter − CREDENTIAL_MAX_DAYS, wallet/keys.py): a retired key signs nothing accepted here.
 * 3. the DCQL requirement of the kind of work, and certificates of the card's holder: each shows the
 *    card's 技能者ID (a name two people share is not enough) and the card holder's name.
 */
"use strict";

(function (global) {
  const G = global.Genba;
  const SKEW_S = 60;
  const STATUS_GRACE_S = 12 * 3600;
  const CHALLENGE_LIFETIME_S = 5 * 60;
  const MAX_BUNDLE_AGE_S = 2 * 24 * 3600;
  const MAX_SD_JWT_LENGTH = 200_000;
  const DAY_MS = 24 * 3600 * 1000;
  const CREDENTIAL_MAX_DAYS = 365; // wallet/keys.py: a key's certificate outlives its use period by this
  const STATUS = { VALID: 0, INVALID: 1, SUSPENDED: 2 };

  class Refusal extends Error {
    constructor(code, ja, en) {
      super(en);
      this.code = code;
      this.ja = ja;
      this.en = en;
    }
  }

  const tampered = (code, en) => new Refusal(code, "資格情報が改ざんされているか形式が正しくありません", en);

  // -- SD-JWT (RFC 9901) ----------------------------------------------------------------------------------

  function parseSdJwt(value) {
    if (typeof value !== "string" || value.length > MAX_SD_JWT_LENGTH || !value.includes("~")) {
      throw tampered("malformed", "not an SD-JWT");
    }
    const parts = value.split("~");
    const issuerJwt = parts[0];
    const disclosures = parts.slice(1, -1);
    const last = parts[parts.length - 1];
    if (issuerJwt.split(".").length !== 3 || disclosures.some((d) => !d)) throw tampered("malformed", "not an SD-JWT");
    return {
      issuerJwt,
      disclosures,
      kbJwt: last || null,
      withoutKb: issuerJwt + "~" + disclosures.map((d) => d + "~").join(""),
    };
  }

  function decodeDisclosure(disclosure) {
    let content;
    try {
      content = G.jsonFromB64url(disclosure);
    } catch {
      throw tampered("malformed_disclosure", "a disclosure is not base64url JSON");
    }
    if (!Array.isArray(content) || ![2, 3].includes(content.length) || typeof content[0] !== "string") {
      throw tampered("malformed_disclosure", "a disclosure is not [salt, (name,) value]");
    }
    return content;
  }

  /** RFC 9901 §7.1 steps 3–5: every disclosure matches exactly one digest, once; claims put in place. */
  async function resolve(payload, disclosures) {
    if ((payload._sd_alg || "sha-256") !== "sha-256") throw tampered("unsupported_sd_alg", "only sha-256 digests");
    const byDigest = new Map();
    for (const disclosure of disclosures) {
      const digest = await G.sha256B64url(disclosure);
      if (byDigest.has(digest)) throw tampered("duplicate_disclosure", "a disclosure appears twice");
      byDigest.set(digest, decodeDisclosure(disclosure));
    }
    const used = new Set();
    const seen = new Set(); // every digest met so far, disclosed or not (§7.1 step 4)
    const once = (digest) => {
      if (typeof digest !== "string") throw tampered("malformed_digest", "a digest is not a string");
      if (seen.has(digest)) throw tampered("digest_reused", "a digest is referenced twice");
      seen.add(digest);
    };
    const take = (digest) => {
      used.add(digest);
      return byDigest.get(digest);
    };
    const walk = (node) => {
      if (Array.isArray(node)) {
        const items = [];
        for (const item of node) {
          if (item && typeof item === "object" && !Array.isArray(item) && Object.keys(item).length === 1 && "..." in item) {
            once(item["..."]);
            if (byDigest.has(item["..."])) {
              const content = take(item["..."]);
              if (content.length !== 2) throw tampered("malformed_disclosure", "array disclosure with a name");
              items.push(walk(content[1]));
            }
            continue;
          }
          items.push(walk(item));
        }
        return items;
      }
      if (node && typeof node === "object") {
        const out = {};
        for (const [key, value] of Object.entries(node)) if (key !== "_sd" && key !== "_sd_alg") out[key] = walk(value);
        const digests = node._sd === undefined ? [] : node._sd;
        if (!Array.isArray(digests)) throw tampered("malformed_digest", "_sd is not an array");
        for (const digest of digests) {
          once(digest);
          if (!byDigest.has(digest)) continue;
          const content = take(digest);
          if (content.length !== 3) throw tampered("malformed_disclosure", "object disclosure without a name");
          const [, name, value] = content;
          if (name === "_sd" || name === "..." || Object.prototype.hasOwnProperty.call(out, name)) {
            throw tampered("claim_conflict", `disclosed claim ${name} clashes`);
          }
          out[name] = walk(value);
        }
        return out;
      }
      return node;
    };
    const resolved = walk(payload);
    for (const digest of byDigest.keys()) {
      if (!used.has(digest)) throw tampered("unreferenced_disclosure", "a disclosure matches no digest (tampered?)");
    }
    return resolved;
  }

  // -- the issuer: x5c chained to the pinned root ------------------------------------------------------

  const rootCache = new Map();

  async function pinnedRoot(rootPem) {
    if (!rootCache.has(rootPem)) {
      rootCache.set(
        rootPem,
        (async () => {
          const cert = G.parseCertificate(G.pemToDer(rootPem));
          return { cert, key: await G.importSpki(cert.spki) };
        })(),
      );
    }
    return rootCache.get(rootPem);
  }

  /** The x5c leaf under the pinned root, valid now, certifying `issuer` by a URI SAN (SD-JWT VC §3.5). */
  async function issuerKey(header, rootPem, nowMs, issuer) {
    const x5c = header.x5c;
    if (!Array.isArray(x5c) || x5c.length === 0 || typeof x5c[0] !== "string") {
      throw new Refusal("no_chain", "発行者の証明書がありません", "the credential has no issuer certificate");
    }
    const untrusted = (en) => new Refusal("untrusted_issuer", "信頼できない発行者です", en);
    let leaf;
    let root;
    try {
      leaf = G.parseCertificate(G.bytesFromBase64(x5c[0], false));
      root = await pinnedRoot(rootPem);
    } catch {
      throw untrusted("untrusted issuer (the certificate cannot be read)");
    }
    if (!(await G.certificateSignedBy(leaf, root.key))) throw untrusted("the issuer certificate is not from the root");
    if (!G.sameBytes(leaf.issuer, root.cert.subject) || nowMs < leaf.notBefore || nowMs > leaf.notAfter) {
      throw untrusted("the issuer certificate is not valid now or not issued by the pinned root");
    }
    if (!leaf.uris.includes(issuer)) throw untrusted("the certificate does not name the credential issuer");
    try {
      return { key: await G.importSpki(leaf.spki), leaf };
    } catch {
      throw untrusted("the issuer certificate has no P-256 key");
    }
  }

  /** wallet/verifier.py _signed_in_use_period: iat not in the future, inside the key's use period. */
  function signedInUsePeriod(iat, leaf, nowMs) {
    if (!Number.isInteger(iat)) throw new Refusal("malformed", "読み取れない資格情報です", "the credential has no issue time (iat)");
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

  // -- one presentation (wallet/verifier.py verify) --------------------------------------------------------

  async function verifyPresentation(presentation, { nowMs, aud, nonce, rootPem }) {
    let parsed;
    let header;
    let payload;
    let claims;
    parsed = parseSdJwt(presentation);
    let unverified;
    try {
      ({ header, payload: unverified } = G.splitJws(parsed.issuerJwt));
    } catch {
      throw new Refusal("malformed", "読み取れない資格情報です", "the credential cannot be read");
    }
    if (!unverified || typeof unverified.iss !== "string") {
      throw new Refusal("malformed", "読み取れない資格情報です", "the credential has no issuer");
    }
    const { key, leaf } = await issuerKey(header, rootPem, nowMs, unverified.iss);
    let jws;
    try {
      jws = await G.verifyJws(parsed.issuerJwt, key);
    } catch {
      jws = null;
    }
    if (!jws) throw tampered("invalid_signature", "issuer signature does not verify");
    if (jws.header.typ !== "dc+sd-jwt") throw tampered("invalid_typ", "typ must be dc+sd-jwt");
    payload = jws.payload;
    if (!payload || typeof payload !== "object" || Array.isArray(payload)) throw tampered("malformed", "not an SD-JWT");
    claims = await resolve(payload, parsed.disclosures);
    const now = Math.floor(nowMs / 1000);
    if (!Number.isInteger(claims.exp) || claims.exp + SKEW_S < nowMs / 1000) {
      throw new Refusal("expired", "資格情報の有効期限が切れています", "the credential has expired");
    }
    signedInUsePeriod(claims.iat, leaf, nowMs);
    const cnf = claims.cnf && typeof claims.cnf === "object" ? claims.cnf.jwk : null;
    if (!cnf || typeof cnf !== "object") {
      throw new Refusal("no_holder_key", "本人確認用の鍵がありません", "the credential is not bound to a holder key");
    }
    await verifyKeyBinding(parsed, cnf, { aud, nonce, now });
    const reference = claims.status && typeof claims.status === "object" ? claims.status.status_list : null;
    return {
      claims,
      vct: String(claims.vct),
      statusUri: reference && typeof reference.uri === "string" ? reference.uri : null,
      statusIndex: reference ? reference.idx : null,
    };
  }

  /** RFC 9901 §7.3 (wallet/sdjwt.py verify_key_binding). */
  async function verifyKeyBinding(parsed, cnf, { aud, nonce, now }) {
    const fail = (code, en) => new Refusal(code, "提示した本人の確認に失敗しました", en);
    if (!parsed.kbJwt) throw fail("missing_kb", "key binding is required");
    let jws = null;
    try {
      jws = await G.verifyJws(parsed.kbJwt, await G.importJwk(cnf));
    } catch {
      jws = null;
    }
    if (!jws) throw fail("invalid_kb", "the key binding JWT does not verify with the holder key");
    const kb = jws.payload || {};
    if (jws.header.typ !== "kb+jwt") throw fail("invalid_kb", "KB-JWT typ must be kb+jwt");
    if (kb.aud !== aud) throw fail("invalid_kb_aud", "KB-JWT audience is not this verifier");
    if (kb.nonce !== nonce) throw fail("invalid_kb_nonce", "KB-JWT nonce does not match");
    if (!Number.isInteger(kb.iat) || Math.abs(now - kb.iat) > SKEW_S) {
      throw fail("invalid_kb_iat", "KB-JWT iat is outside the allowed clock skew");
    }
    if (kb.sd_hash !== (await G.sha256B64url(parsed.withoutKb))) {
      throw fail("invalid_kb_sd_hash", "KB-JWT sd_hash does not match the presentation");
    }
  }

  // -- status (IETF Token Status List, wallet/verifier.py check_status) ----------------------------------

  const listCache = new Map(); // token -> { entries, bits } (the inflated list of a synced token)

  async function checkStatus(item, token, signerJwk, nowMs) {
    const invalid = (ja, en) => new Refusal("status_list_invalid", ja, en);
    let jws = null;
    try {
      jws = await G.verifyJws(token, await G.importJwk(signerJwk));
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
      const list = claims.status_list || {};
      const bits = Number(list.bits);
      if (![1, 2, 4, 8].includes(bits)) throw new Error("bits");
      if (!listCache.has(token)) listCache.set(token, G.decompress(G.bytesFromB64url(list.lst), "deflate", 64 << 20));
      const entries = await listCache.get(token);
      const index = Number(item.statusIndex || 0);
      const perByte = 8 / bits;
      const byte = entries[Math.floor(index / perByte)];
      if (!Number.isInteger(index) || index < 0 || byte === undefined) throw new Error("index");
      value = (byte >> ((index % perByte) * bits)) & ((1 << bits) - 1);
    } catch {
      listCache.delete(token);
      throw invalid("失効情報が読み取れません", "the status list cannot be read");
    }
    if (value === STATUS.INVALID) throw new Refusal("revoked", "資格情報は失効しています", "the credential has been revoked");
    if (value === STATUS.SUSPENDED) throw new Refusal("suspended", "資格情報は一時停止中です", "the credential is suspended");
    return value;
  }

  function tokenKid(token) {
    try {
      return String(G.splitJws(token).header.kid || "");
    } catch {
      return "";
    }
  }

  function sameName(a, b) {
    const norm = (v) => String(v).normalize("NFKC").replace(/\s+/gu, "");
    return norm(a) === norm(b);
  }

  async function eventKey(siteId, gateId, technicianId, direction, nonce) {
    return (await G.sha256Hex(`${siteId}|${gateId}|${technicianId}|${direction}|${nonce}`)).slice(0, 40);
  }

  // -- the whole check (wallet/gate/check.py check) ------------------------------------------------------

  async function check(vpToken, { dcql, nonce, aud, nowMs, bundle }) {
    const result = { ok: true, reasons: [], technician_id: null, name: null, level: null, level_colour: null };
    const refuse = (code, ja, en) => {
      result.ok = false;
      result.reasons.push({ code, ja, en });
    };
    if (!vpToken || typeof vpToken !== "object" || Array.isArray(vpToken)) {
      refuse("malformed", "読み取れない提示です", "the presentation cannot be read");
      return result;
    }
    const keys = new Map((bundle.issuer_keys || []).map((k) => [String(k.kid), k]));
    const lists = bundle.status_lists || {};
    const verified = [];
    for (const query of dcql.credentials || []) {
      const presented = vpToken[query.id];
      if (!Array.isArray(presented) || presented.length === 0 || typeof presented[0] !== "string") {
        const missing = G.missingReason(query, null);
        refuse("missing_credential", missing.ja, missing.en);
        continue;
      }
      let item;
      try {
        item = await verifyPresentation(presented[0], { nowMs, aud, nonce, rootPem: bundle.root_pem });
        const token = lists[item.statusUri || ""];
        if (typeof token !== "string") {
          throw new Refusal("status_unavailable", "失効情報がありません（同期してください）", "no status list for this credential; sync the gate");
        }
        const signer = keys.get(tokenKid(token));
        if (!signer) throw new Refusal("status_list_invalid", "失効情報の発行者が不明です", "unknown status list signer");
        await checkStatus(item, token, signer, nowMs);
      } catch (error) {
        if (error instanceof Refusal) refuse(error.code, error.ja, error.en);
        else refuse("malformed", "読み取れない資格情報です", "the credential cannot be read");
        continue;
      }
      const problem = G.satisfies(query, item.vct, item.claims);
      if (problem !== null) {
        const missing = G.missingReason(query, problem);
        refuse("requirement_not_met", missing.ja, missing.en);
        continue;
      }
      verified.push(item);
    }
    const card = verified.find((v) => v.vct === `${v.claims.iss || ""}/vct/ccus-technician-card`);
    if (card) {
      const claims = card.claims;
      result.technician_id = claims.technician_id ?? null;
      result.name = claims.name ?? null;
      result.level = claims.level ?? null;
      result.level_colour = claims.level_colour ?? null;
      for (const other of verified) {
        if (other === card) continue;
        // wallet/gate/check.py _same_holder: joined by the 技能者ID, not by a name two people may share
        if (!("technician_id" in other.claims)) {
          refuse(
            "holder_unknown",
            "資格証の技能者IDが提示されていないため本人の資格か確認できません",
            "a certificate was shown without its technician ID, so it cannot be matched to the card",
          );
        } else if (String(other.claims.technician_id) !== String(claims.technician_id)) {
          refuse("holder_mismatch", "資格証が別の技能者のものです", "a certificate belongs to another technician");
        }
        if (!("holder_name" in other.claims)) {
          refuse(
            "holder_unknown",
            "資格証の氏名が提示されていないため本人の資格か確認できません",
            "a certificate was shown without its holder's name, so it cannot be matched to the card",
          );
        } else if (!sameName(other.claims.holder_name, claims.name)) {
          refuse("holder_mismatch", "資格証の氏名がカードと一致しません", "a certificate is in someone else's name");
        }
      }
    } else if (result.ok) {
      refuse("missing_credential", "建設キャリアアップカードがありません", "the CCUS card is missing");
    }
    return result;
  }

  /**
   * wallet/gate/offline_check.py verify_offline: `frames` as read from the QR code(s), `challenge` the
   * gate's current one ({ site_id, gate_id, work_kind, nonce, time, audience }).
   */
  async function verifyOffline(frames, challenge, bundle, { nowMs = Date.now(), direction }) {
    const refused = (code, ja, en) => ({ ok: false, reasons: [{ code, ja, en }], technician_id: null, name: null, level: null, level_colour: null });
    const now = nowMs / 1000;
    const generated = Number(bundle.generated_at) || 0;
    let result;
    let nonce = challenge.nonce;
    if (now < generated - 300 || now - generated > MAX_BUNDLE_AGE_S) {
      result = refused("gate_clock", "ゲートの時計か同期データの日時が正しくありません", "the gate's clock or its synced data is off; sync the gate");
    } else if (!(now - challenge.time >= -60 && now - challenge.time <= CHALLENGE_LIFETIME_S)) {
      result = refused("challenge_expired", "読み取り用QRコードの有効期限が切れました", "the gate's challenge has expired; show the new one");
    } else if (challenge.site_id !== bundle.site_id) {
      result = refused("wrong_site", "この現場のQRコードではありません", "this challenge is for another site");
    } else {
      let decoded = null;
      try {
        decoded = await G.decodePresentation(frames);
      } catch (error) {
        result = refused("unreadable", "QRコードを読み取れませんでした", String(error && error.message));
      }
      if (decoded && decoded.nonce !== challenge.nonce) {
        result = refused("invalid_kb_nonce", "このゲートへの提示ではありません（再提示）", "the presentation answers another challenge");
      } else if (decoded) {
        nonce = decoded.nonce;
        const requirements = bundle.requirements || {};
        const dcql = requirements[challenge.work_kind] || requirements.general;
        result = await check(decoded.vp, { dcql, nonce, aud: challenge.audience, nowMs, bundle });
      }
    }
    result.event_key = await eventKey(challenge.site_id, challenge.gate_id, String(result.technician_id || ""), direction, nonce);
    return result;
  }

  global.GenbaVerify = Object.freeze({ verifyOffline, check, verifyPresentation, checkStatus, eventKey, Refusal });
})(self);
