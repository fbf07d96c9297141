// @ts-check
/* Genba ID gate: the whole check of an offline presentation in the browser, with no network, against the
 * synced bundle (docs/offline-gate.md §4) — a mirror of wallet/gate/offline_check.py and
 * wallet/gate/check.py, with the same reasons in the same words:
 *
 * 1. the challenge is this gate's current one, at most 5 minutes old, for this site; the gate's clock
 *    agrees with the bundle;
 * 2. each presentation verifies (presentation.js: issuer chain, signature, disclosures, key binding,
 *    expiry, status);
 * 3. the DCQL requirement of the kind of work, and certificates of the card's holder: each shows the
 *    card's 技能者ID (a name two people share is not enough) and the card holder's name.
 */

import { sha256Hex } from "../common/base64url.js";
import { missingReason, satisfies } from "../common/dcql.js";
import { splitJws } from "../common/jws.js";
import { decodePresentation } from "../common/offline.js";
import { Refusal, checkStatus, verifyPresentation } from "./presentation.js";

const CHALLENGE_LIFETIME_S = 5 * 60;
const MAX_BUNDLE_AGE_S = 2 * 24 * 3600;

function tokenKid(token) {
  try {
    return String(splitJws(token).header.kid || "");
  } catch {
    return "";
  }
}

function sameName(a, b) {
  const norm = (v) => String(v).normalize("NFKC").replace(/\s+/gu, "");
  return norm(a) === norm(b);
}

export async function eventKey(siteId, gateId, technicianId, direction, nonce) {
  return (await sha256Hex(`${siteId}|${gateId}|${technicianId}|${direction}|${nonce}`)).slice(0, 40);
}

// -- the whole check (wallet/gate/check.py check) ------------------------------------------------------

/**
 * The presentations of a vp_token against the DCQL requirement, then the certificates joined to the card's
 * holder. Long as wallet/gate/check.py check is: every reason is collected, not only the first.
 */
export async function check(vpToken, { dcql, nonce, aud, nowMs, bundle }) {
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
      const missing = missingReason(query, null);
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
    const problem = satisfies(query, item.vct, item.claims);
    if (problem !== null) {
      const missing = missingReason(query, problem);
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
export async function verifyOffline(frames, challenge, bundle, { nowMs = Date.now(), direction }) {
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
      decoded = await decodePresentation(frames);
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
