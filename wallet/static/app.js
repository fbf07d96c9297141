/* 現場IDウォレット — the technician's web wallet (vanilla JavaScript, no build step).
 *
 * - Receives credentials through OpenID for Verifiable Credential Issuance 1.0 with the
 *   pre-authorized code flow: the offer (by reference, from #offer=<credential_offer_uri> or a pasted
 *   openid-credential-offer:// link), the issuer metadata, the token (with the tx_code), then for every
 *   credential identifier a fresh c_nonce and a credential bound to a NEW P-256 key made by WebCrypto
 *   as non-extractable (only its public half leaves the browser, in the proof's jwk header).
 * - Keeps each SD-JWT VC with its CryptoKey and what it needs later (type metadata, the access token
 *   and notification_id for the notification endpoint) in IndexedDB.
 * - Shows the credentials as cards (the CCUS card in its level colour), checks their status in the
 *   IETF Token Status List (2-bit entries, DEFLATE) and deletes them, telling the issuer.
 * - Presents them at a site gate: online with OpenID for Verifiable Presentations 1.0 (an openid4vp://
 *   link pasted, scanned from the gate's QR code or passed as #vp=<link>: the signed request object is
 *   checked against its x5c certificate and x509_san_dns client id, then direct_post), or offline with
 *   the gate's GC1 challenge answered by a GP1 QR code (docs/offline-gate.md). Either way the
 *   technician first sees exactly which fields each credential will reveal; only those disclosures are
 *   kept, never the face photo, with a KB-JWT signed by the credential's non-extractable key.
 */
"use strict";

const PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const OFFER_SCHEME = "openid-credential-offer:";
const CARD = "ccus_card";
const CERTIFICATE = "skill_training_certificate";
const LANG_KEY = "genba-wallet-lang";
const DB_NAME = "genba-wallet";
const STORE = "credentials";
const STATUS_NAMES = { 0: "valid", 1: "revoked", 2: "suspended" };

// -- language ---------------------------------------------------------------------------------------

const TEXT = {
  ja: {
    app_name: "現場IDウォレット",
    lang_switch: "English",
    offer_title: "証明書の受け取り",
    offer_from: "{issuer} から次の証明書が届いています。",
    tx_code_label: "確認番号（現場IDの画面に表示された数字）",
    tx_code_hint: "{length}桁の数字",
    accept: "受け取る",
    decline: "受け取らない",
    wallet_title: "わたしの証明書",
    empty: "まだ証明書はありません。現場IDの「ウォレットに追加」から受け取れます。",
    receive_title: "リンクから受け取る",
    paste_label: "受け取り用リンク（openid-credential-offer://…）を貼り付け",
    paste_submit: "リンクを開く",
    refresh: "状態を更新",
    to_receive: "受け取る",
    actions: "操作",
    status_valid: "有効",
    status_revoked: "失効",
    status_suspended: "一時停止",
    status_expired: "有効期限切れ",
    status_unknown: "状態不明",
    checked_at: "状態の確認: {time}",
    check_failed: "状態を確認できませんでした（最後の確認: {time}）",
    never_checked: "まだ確認していません",
    fields_summary: "提示で開示できる項目",
    fields_note: "提示するときは、この中から必要な項目だけを選んで見せます。発行元・有効期限・失効の確認先は常に相手に伝わります。",
    delete: "削除",
    confirm_delete: "「{name}」をこの端末から削除しますか？ 元に戻せません。",
    deleted: "「{name}」を削除しました。",
    deleted_not_notified: "「{name}」をこの端末から削除しました。受け取りから時間が経っているため、発行元への通知はできませんでした。",
    deleted_offline: "「{name}」をこの端末から削除しました。通信できなかったため、発行元への通知はできませんでした。",
    fetching_offer: "受け取り内容を確認しています…",
    getting_token: "確認番号を確かめています…",
    getting_credential: "証明書を受け取っています（{n}/{total}）…",
    received: "{count}件の証明書を受け取りました。",
    received_partly: "{count}件の証明書を受け取りました。{failed}件は受け取れませんでした。",
    nothing_offered: "受け取れる証明書はありませんでした。",
    err_link: "受け取り用リンクの形式が正しくありません。",
    err_offer: "この受け取り用リンクは使えません（期限切れ・使用済み、または見つかりません）。",
    err_issuer: "発行元の情報を取得できませんでした。",
    err_tx_code: "確認番号を入力してください。",
    err_tx_code_format: "確認番号は{length}桁の数字です。",
    err_tx_wrong: "確認番号が正しくないか、受け取り用リンクの期限が切れています。",
    err_network: "通信できませんでした。電波の良い場所でもう一度お試しください。",
    err_credential: "証明書を受け取れませんでした（{error}）。",
    err_storage: "この端末に保存できませんでした。",
    err_crypto: "このブラウザは必要な暗号機能に対応していません。",
    no_employer: "なし",
    level: "レベル{level}（{colour}）",
    yes: "加入",
    no: "未加入",
    photo: "（顔写真）",
    insurance: "健康保険 {health}・年金 {pension}・雇用保険 {employment}",
    ins_enrolled: "加入",
    ins_exempt: "適用除外",
    ins_not_enrolled: "未加入",
    ins_unknown: "不明",
    kind_技能講習: "技能講習",
    kind_特別教育: "特別教育",
    expires: "有効期限",
    present_title: "ゲートで提示する",
    present_label: "ゲートのQRコードの内容（openid4vp://… または GC1:…）を貼り付け",
    present_open: "開く",
    present_scan: "カメラで読み取る",
    present_scan_stop: "読み取りをやめる",
    to_present: "提示する",
    presentation_title: "提示の確認",
    presentation_to_online: "提示先: {host}（オンライン）",
    presentation_to_offline: "提示先: 現場 {site}・ゲート {gate}（{kind}）",
    presentation_note: "次の項目だけを相手に見せます。ほかの項目は見せません。顔写真は送りません（ゲートは現場の名簿の写真で確認します）。",
    presentation_missing: "{what}がありません（ゲートで確認できない場合があります）",
    presentation_status: "この証明書は「{status}」です",
    presentation_nothing: "提示できる証明書がありません。",
    approve: "提示する",
    cancel: "やめる",
    close: "閉じる",
    presenting: "提示しています…",
    presented_online: "提示しました。ゲートの画面で結果を確認してください。",
    presentation_qr_hint: "このQRコードをゲートのカメラに向けてください。",
    presentation_qr_frames: "{n}枚のQRコードを順に表示しています（{i}/{n}）",
    kind_general: "一般作業",
    kind_crane: "クレーン作業",
    kind_height: "高所作業",
    err_vp_link: "ゲートのQRコードの形式が正しくありません。",
    err_vp_request: "ゲートからの要求を確認できませんでした（{error}）。",
    err_vp_expired: "ゲートのQRコードの有効期限が切れているか、使用済みです。ゲートに新しいQRコードを出してもらってください。",
    err_vp_response: "提示を送れませんでした（{error}）。",
    err_camera: "カメラを使えません（{error}）。",
  },
  en: {
    app_name: "Genba ID Wallet",
    lang_switch: "日本語",
    offer_title: "Receive credentials",
    offer_from: "{issuer} is offering you these credentials.",
    tx_code_label: "Confirmation code (the digits shown in Genba ID)",
    tx_code_hint: "{length} digits",
    accept: "Accept",
    decline: "Decline",
    wallet_title: "My credentials",
    empty: "No credentials yet. Get them from “Add to wallet” in Genba ID.",
    receive_title: "Receive from a link",
    paste_label: "Paste the offer link (openid-credential-offer://…)",
    paste_submit: "Open link",
    refresh: "Check status",
    to_receive: "Receive",
    actions: "Actions",
    status_valid: "Valid",
    status_revoked: "Revoked",
    status_suspended: "Suspended",
    status_expired: "Expired",
    status_unknown: "Status unknown",
    checked_at: "Status checked: {time}",
    check_failed: "Could not check the status (last checked: {time})",
    never_checked: "not yet checked",
    fields_summary: "Fields a presentation can reveal",
    fields_note: "When presenting, you choose which of these to show. The issuer, expiry and status reference are always shared.",
    delete: "Delete",
    confirm_delete: "Delete “{name}” from this device? This cannot be undone.",
    deleted: "Deleted “{name}”.",
    deleted_not_notified: "Deleted “{name}” from this device. It was received too long ago to tell the issuer.",
    deleted_offline: "Deleted “{name}” from this device. The issuer could not be told (no connection).",
    fetching_offer: "Checking the offer…",
    getting_token: "Checking the confirmation code…",
    getting_credential: "Receiving credentials ({n}/{total})…",
    received: "Received {count} credential(s).",
    received_partly: "Received {count} credential(s); {failed} could not be received.",
    nothing_offered: "There were no credentials to receive.",
    err_link: "This is not a valid offer link.",
    err_offer: "This offer cannot be used (expired, already used or not found).",
    err_issuer: "Could not get the issuer's information.",
    err_tx_code: "Enter the confirmation code.",
    err_tx_code_format: "The confirmation code is {length} digits.",
    err_tx_wrong: "The confirmation code is wrong, or the offer has expired.",
    err_network: "No connection. Please try again where the signal is better.",
    err_credential: "Could not receive the credential ({error}).",
    err_storage: "Could not save on this device.",
    err_crypto: "This browser lacks the cryptography the wallet needs.",
    no_employer: "none",
    level: "Level {level} ({colour})",
    yes: "Member",
    no: "Not a member",
    photo: "(face photo)",
    insurance: "Health {health} · Pension {pension} · Employment {employment}",
    ins_enrolled: "enrolled",
    ins_exempt: "exempt",
    ins_not_enrolled: "not enrolled",
    ins_unknown: "unknown",
    kind_技能講習: "Skill training",
    kind_特別教育: "Special education",
    expires: "Expires",
    present_title: "Present at a gate",
    present_label: "Paste the gate's QR code content (openid4vp://… or GC1:…)",
    present_open: "Open",
    present_scan: "Scan with the camera",
    present_scan_stop: "Stop scanning",
    to_present: "Present",
    presentation_title: "Check what you present",
    presentation_to_online: "To: {host} (online)",
    presentation_to_offline: "To: site {site}, gate {gate} ({kind})",
    presentation_note: "Only these fields are shown; nothing else is. Your face photo is never sent (the gate has the site roster's photo).",
    presentation_missing: "{what} is missing (the gate may refuse you)",
    presentation_status: "This credential is “{status}”",
    presentation_nothing: "You have no credential to present.",
    approve: "Present",
    cancel: "Cancel",
    close: "Close",
    presenting: "Presenting…",
    presented_online: "Presented. See the result on the gate's screen.",
    presentation_qr_hint: "Hold this QR code up to the gate's camera.",
    presentation_qr_frames: "Showing {n} QR codes in turn ({i}/{n})",
    kind_general: "general work",
    kind_crane: "crane work",
    kind_height: "work at height",
    err_vp_link: "This is not a gate QR code.",
    err_vp_request: "The gate's request could not be checked ({error}).",
    err_vp_expired: "The gate's QR code has expired or was used. Ask the gate for a new one.",
    err_vp_response: "The presentation could not be sent ({error}).",
    err_camera: "The camera cannot be used ({error}).",
  },
};

// The page helpers shared with the gate page (gate/shared.js, loaded first).
const { $, el, showText } = Genba;
const i18n = Genba.language(TEXT, LANG_KEY);
const { t } = i18n;

/** The entry of a display array for the current language (locale "ja-JP"/"ja", "en-US"/"en"), else the first. */
function pickDisplay(list) {
  if (!Array.isArray(list) || list.length === 0) return null;
  const want = i18n.lang;
  return (
    list.find((d) => typeof d.locale === "string" && d.locale.toLowerCase().split("-")[0] === want) ||
    list.find((d) => !d.locale) ||
    list[0]
  );
}

function applyLanguage() {
  i18n.apply();
  $(".actions-bar").setAttribute("aria-label", t("actions"));
  if (pending) showOffer(pending);
  if (presentationPlan) showPresentation(presentationPlan);
}

// -- small helpers ----------------------------------------------------------------------------------

function showError(text) {
  const box = showText($("#error"), text);
  if (text) box.scrollIntoView({ block: "nearest" });
}

const showMessage = (text) => showText($("#message"), text);
const showProgress = (text) => showText($("#progress"), text);

class WalletError extends Genba.UserError {}

// -- base64url, JWT, SD-JWT -----------------------------------------------------------------------------

// Encoding and hashing come from gate/shared.js; decoding stays here, where malformed input (from an
// issuer) is a WalletError whose message is shown as it is.
const { encoder, b64urlFromBytes, b64urlJson, sha256B64url } = Genba;
const decoder = new TextDecoder("utf-8", { fatal: true });

function bytesFromB64url(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) throw new WalletError("not base64url", "malformed");
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function jsonFromB64url(text) {
  return JSON.parse(decoder.decode(bytesFromB64url(text)));
}

function jwtParts(token) {
  const parts = String(token).split(".");
  if (parts.length !== 3) throw new WalletError("not a JWT", "malformed");
  return { header: jsonFromB64url(parts[0]), payload: jsonFromB64url(parts[1]) };
}

/**
 * RFC 9901: <issuer JWT>~<disclosure>~...~ — decode the disclosures ([salt, name, value]) and keep
 * the claims whose digest the issuer signed in the top-level _sd array.
 */
async function decodeSdJwt(sdJwt) {
  const parts = String(sdJwt).split("~");
  if (parts.length < 2) throw new WalletError("not an SD-JWT", "malformed");
  const { header, payload } = jwtParts(parts[0]);
  if (payload._sd_alg && payload._sd_alg !== "sha-256") throw new WalletError("unsupported _sd_alg", "malformed");
  const signed = new Set(Array.isArray(payload._sd) ? payload._sd : []);
  const claims = {};
  for (const disclosure of parts.slice(1, -1)) {
    if (!disclosure) continue;
    const content = jsonFromB64url(disclosure);
    if (!Array.isArray(content) || content.length !== 3 || typeof content[1] !== "string") continue;
    if (!signed.has(await sha256B64url(disclosure))) throw new WalletError("a disclosure is not signed", "malformed");
    claims[content[1]] = content[2];
  }
  const visible = {};
  for (const [name, value] of Object.entries(payload)) if (name !== "_sd" && name !== "_sd_alg") visible[name] = value;
  return { header, payload: visible, claims };
}

// -- IndexedDB -----------------------------------------------------------------------------------------

const dbRun = Genba.database(DB_NAME, (database) => {
  if (!database.objectStoreNames.contains(STORE)) {
    database.createObjectStore(STORE, { keyPath: "id" }).createIndex("receivedAt", "receivedAt");
  }
});

const db = {
  all: async () => ((await dbRun(STORE, "readonly", (s) => s.getAll())) || []).sort((a, b) => a.receivedAt - b.receivedAt),
  get: (id) => dbRun(STORE, "readonly", (s) => s.get(id)),
  put: (record) => dbRun(STORE, "readwrite", (s) => s.put(record)),
  remove: (id) => dbRun(STORE, "readwrite", (s) => s.delete(id)),
};

// -- HTTP -------------------------------------------------------------------------------------------------

async function request(url, options = {}) {
  try {
    return await fetch(url, { credentials: "omit", cache: "no-store", ...options });
  } catch {
    throw new WalletError(t("err_network"), "network");
  }
}

async function getJson(url, errorText) {
  const response = await request(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new WalletError(errorText, "http_" + response.status);
  return response.json();
}

async function errorBody(response) {
  try {
    const body = await response.json();
    return body && typeof body === "object" ? body : {};
  } catch {
    return {};
  }
}

/** OpenID4VCI §12.2.2 / RFC 8414 §3: the well-known document of an issuer, path after the well-known part. */
function wellKnown(identifier, name) {
  const url = new URL(identifier);
  const path = url.pathname.replace(/\/$/, "");
  return `${url.origin}/.well-known/${name}${path}`;
}

// -- receiving credentials (OpenID4VCI 1.0, pre-authorized code) ------------------------------------

let pending = null; // the offer being looked at: { offer, metadata, grant, issuer }

/** A pasted link, a credential_offer_uri, or the JSON of an offer; returns { uri } or { offer }. */
function parseOfferInput(text) {
  const value = String(text || "").trim();
  if (!value) throw new WalletError(t("err_link"), "link");
  if (value.startsWith("{")) return { offer: JSON.parse(value) };
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new WalletError(t("err_link"), "link");
  }
  if (url.protocol === OFFER_SCHEME || url.protocol === "haip:") {
    const byReference = url.searchParams.get("credential_offer_uri");
    if (byReference) return { uri: new URL(byReference).href };
    const byValue = url.searchParams.get("credential_offer");
    if (byValue) return { offer: JSON.parse(byValue) };
    throw new WalletError(t("err_link"), "link");
  }
  if (url.protocol === "https:" || url.protocol === "http:") {
    const inner = url.searchParams.get("credential_offer_uri");
    return { uri: inner ? new URL(inner).href : url.href };
  }
  throw new WalletError(t("err_link"), "link");
}

async function loadOffer(text) {
  showError("");
  showMessage("");
  const source = parseOfferInput(text);
  showProgress(t("fetching_offer"));
  $("#offer").hidden = false;
  $("#offer-form").hidden = true;
  try {
    const offer = source.offer || (await getJson(source.uri, t("err_offer")));
    if (!offer || typeof offer.credential_issuer !== "string" || !Array.isArray(offer.credential_configuration_ids)) {
      throw new WalletError(t("err_offer"), "offer");
    }
    const grant = offer.grants && offer.grants[PRE_AUTH];
    if (!grant || typeof grant["pre-authorized_code"] !== "string") throw new WalletError(t("err_offer"), "grant");
    const issuer = offer.credential_issuer;
    const metadata = await getJson(wellKnown(issuer, "openid-credential-issuer"), t("err_issuer"));
    if (metadata.credential_issuer !== issuer) throw new WalletError(t("err_issuer"), "issuer");
    pending = { offer, metadata, grant, issuer };
    showOffer(pending);
    $("#tx-code-field").hidden || $("#tx-code").focus();
  } catch (error) {
    closeOffer();
    throw error;
  } finally {
    showProgress("");
  }
}

function configurationName(metadata, id) {
  const configuration = (metadata.credential_configurations_supported || {})[id] || {};
  const display = pickDisplay((configuration.credential_metadata || {}).display || configuration.display);
  return (display && display.name) || id;
}

function showOffer({ offer, metadata, grant }) {
  const issuerDisplay = pickDisplay(metadata.display);
  $("#offer-from").textContent = t("offer_from", { issuer: (issuerDisplay && issuerDisplay.name) || offer.credential_issuer });
  $("#offer-items").replaceChildren(
    ...offer.credential_configuration_ids.map((id) => el("li", { "data-configuration": id, text: configurationName(metadata, id) })),
  );
  const tx = grant.tx_code;
  $("#tx-code-field").hidden = !tx;
  if (tx) {
    const input = $("#tx-code");
    input.inputMode = tx.input_mode === "text" ? "text" : "numeric";
    input.pattern = tx.input_mode === "text" ? ".*" : "[0-9]*";
    if (tx.length) input.maxLength = tx.length;
    input.required = true;
    const hint = [tx.length ? t("tx_code_hint", { length: tx.length }) : "", tx.description || ""].filter(Boolean);
    $("#tx-code-hint").textContent = hint.join(" — ");
  }
  $("#offer-form").hidden = false;
  $("#offer").hidden = false;
  $("#receive").hidden = true;
}

function closeOffer() {
  pending = null;
  $("#offer").hidden = true;
  $("#receive").hidden = false;
  $("#tx-code").value = "";
  showProgress("");
}

async function tokenEndpoint(metadata, issuer) {
  const server = (metadata.authorization_servers && metadata.authorization_servers[0]) || issuer;
  for (const name of ["oauth-authorization-server", "openid-configuration"]) {
    try {
      const response = await request(wellKnown(server, name), { headers: { Accept: "application/json" } });
      if (response.ok) {
        const document = await response.json();
        if (document.token_endpoint) return document.token_endpoint;
      }
    } catch {
      // try the next one
    }
  }
  return `${server.replace(/\/$/, "")}/token`;
}

async function acceptOffer() {
  if (!pending) return;
  const { offer, metadata, grant, issuer } = pending;
  const tx = grant.tx_code;
  const txValue = $("#tx-code").value.trim();
  showError("");
  if (tx) {
    if (!txValue) throw new WalletError(t("err_tx_code"), "tx_code");
    if ((tx.input_mode || "numeric") === "numeric" && !/^[0-9]+$/.test(txValue)) {
      throw new WalletError(t("err_tx_code_format", { length: tx.length || "" }), "tx_code");
    }
    if (tx.length && txValue.length !== tx.length) {
      throw new WalletError(t("err_tx_code_format", { length: tx.length }), "tx_code");
    }
  }
  showProgress(t("getting_token"));
  const form = new URLSearchParams({ grant_type: PRE_AUTH, "pre-authorized_code": grant["pre-authorized_code"] });
  if (tx) form.set("tx_code", txValue);
  const endpoint = await tokenEndpoint(metadata, issuer);
  const response = await request(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: form.toString(),
  });
  if (!response.ok) {
    const body = await errorBody(response);
    showProgress("");
    if (body.error === "invalid_grant" || body.error === "invalid_request") throw new WalletError(t("err_tx_wrong"), body.error);
    throw new WalletError(t("err_credential", { error: body.error || response.status }), "token");
  }
  const token = await response.json();
  const receivedAt = Date.now();
  const access = {
    accessToken: token.access_token,
    tokenType: token.token_type || "Bearer",
    accessTokenExpiresAt: receivedAt + (Number(token.expires_in) || 0) * 1000,
  };
  const jobs = requestsFor(token, offer);
  let stored = 0;
  let failed = 0;
  const failures = [];
  const typeMetadata = new Map();
  for (const [i, job] of jobs.entries()) {
    showProgress(t("getting_credential", { n: i + 1, total: jobs.length }));
    try {
      const records = await receiveOne({ job, metadata, issuer, access, typeMetadata });
      for (const record of records) {
        await db.put(record).catch(() => {
          throw new WalletError(t("err_storage"), "storage");
        });
        stored += 1;
        await notify(record, "credential_accepted"); // §11: kept, so the issuer may count it as delivered
      }
    } catch (error) {
      failed += 1;
      failures.push(error.message);
    }
  }
  closeOffer();
  await render();
  if (jobs.length === 0) showMessage(t("nothing_offered"));
  else if (failed) {
    showMessage(t("received_partly", { count: stored, failed }));
    showError(failures[0]);
  } else showMessage(t("received", { count: stored }));
  refreshStatuses().catch(() => {});
}

/** One credential request per credential identifier of the token's authorization_details (§6.2). */
function requestsFor(token, offer) {
  const details = Array.isArray(token.authorization_details)
    ? token.authorization_details.filter((d) => d && d.type === "openid_credential")
    : [];
  if (details.length === 0) {
    return offer.credential_configuration_ids.map((configuration) => ({ configuration, identifier: null }));
  }
  const jobs = [];
  for (const detail of details) {
    const configuration = detail.credential_configuration_id;
    if (!Array.isArray(detail.credential_identifiers)) {
      jobs.push({ configuration, identifier: null });
      continue;
    }
    for (const identifier of detail.credential_identifiers) jobs.push({ configuration, identifier });
  }
  return jobs;
}

function publicJwk(jwk) {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/** Appendix F.1: a JWT proof signed by the new key, its public half in the jwk header. */
async function proofJwt(keyPair, jwk, issuer, nonce) {
  const header = { typ: "openid4vci-proof+jwt", alg: "ES256", jwk };
  const claims = { aud: issuer, iat: Math.floor(Date.now() / 1000) };
  if (nonce) claims.nonce = nonce;
  const input = `${b64urlJson(header)}.${b64urlJson(claims)}`;
  // WebCrypto ECDSA signatures are r || s (64 bytes for P-256): exactly the JWS ES256 form.
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keyPair.privateKey, encoder.encode(input));
  return `${input}.${b64urlFromBytes(signature)}`;
}

async function freshNonce(metadata) {
  if (!metadata.nonce_endpoint) return null;
  const response = await request(metadata.nonce_endpoint, { method: "POST" });
  if (!response.ok) throw new WalletError(t("err_credential", { error: "nonce " + response.status }), "nonce");
  const body = await response.json();
  return body.c_nonce;
}

async function loadTypeMetadata(vct, cache) {
  if (cache.has(vct)) return cache.get(vct);
  let value = null;
  try {
    const url = new URL(vct);
    if (url.origin === location.origin) {
      const response = await request(url.href, { headers: { Accept: "application/json" } });
      if (response.ok) value = await response.json();
    }
  } catch {
    value = null;
  }
  cache.set(vct, value);
  return value;
}

async function receiveOne({ job, metadata, issuer, access, typeMetadata }) {
  if (!crypto.subtle) throw new WalletError(t("err_crypto"), "crypto");
  // A new key for every credential: two credentials cannot be linked through their cnf key.
  const keyPair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const jwk = publicJwk(await crypto.subtle.exportKey("jwk", keyPair.publicKey));
  let nonce = await freshNonce(metadata);
  let response;
  for (let attempt = 0; attempt < 2; attempt++) {
    const body = job.identifier ? { credential_identifier: job.identifier } : { credential_configuration_id: job.configuration };
    body.proofs = { jwt: [await proofJwt(keyPair, jwk, issuer, nonce)] };
    response = await request(metadata.credential_endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        Authorization: `${access.tokenType === "DPoP" ? "DPoP" : "Bearer"} ${access.accessToken}`,
      },
      body: JSON.stringify(body),
    });
    if (response.ok) break;
    const problem = await errorBody(response);
    if (problem.error === "invalid_nonce" && attempt === 0) {
      nonce = problem.c_nonce || (await freshNonce(metadata));
      continue;
    }
    throw new WalletError(t("err_credential", { error: problem.error || response.status }), problem.error || "credential");
  }
  const result = await response.json();
  const items = Array.isArray(result.credentials) ? result.credentials : [];
  if (items.length === 0) throw new WalletError(t("err_credential", { error: "empty" }), "credential");
  const records = [];
  for (const item of items) {
    const sdJwt = item.credential;
    const decoded = await decodeSdJwt(sdJwt);
    const cnf = decoded.payload.cnf && decoded.payload.cnf.jwk;
    if (!cnf || cnf.x !== jwk.x || cnf.y !== jwk.y) throw new WalletError(t("err_credential", { error: "cnf" }), "cnf");
    const configuration = metadata.credential_configurations_supported?.[job.configuration] || {};
    records.push({
      id: crypto.randomUUID ? crypto.randomUUID() : Genba.randomB64url(16),
      issuer,
      configurationId: job.configuration,
      credentialIdentifier: job.identifier,
      format: configuration.format || "dc+sd-jwt",
      sdJwt,
      claims: decoded.claims,
      payload: decoded.payload,
      privateKey: keyPair.privateKey, // a non-extractable CryptoKey: IndexedDB keeps it, nobody can export it
      publicJwk: jwk,
      notificationId: result.notification_id || null,
      notificationEndpoint: metadata.notification_endpoint || null,
      ...access,
      typeMetadata: await loadTypeMetadata(decoded.payload.vct, typeMetadata),
      configurationDisplay: (configuration.credential_metadata || {}).display || configuration.display || null,
      claimDisplay: (configuration.credential_metadata || {}).claims || configuration.claims || null,
      status: "valid",
      statusCheckedAt: Date.now(),
      statusCheckFailed: false,
      receivedAt: Date.now() + records.length / 1000,
    });
  }
  return records;
}

/** §11: tell the issuer; true when it answered 2xx. Needs the access token issued with the credential. */
async function notify(record, event) {
  if (!record.notificationEndpoint || !record.notificationId || !record.accessToken) return "no_token";
  if (record.accessTokenExpiresAt && record.accessTokenExpiresAt <= Date.now()) return "expired";
  let response;
  try {
    response = await fetch(record.notificationEndpoint, {
      method: "POST",
      credentials: "omit",
      cache: "no-store",
      headers: {
        "Content-Type": "application/json",
        Authorization: `${record.tokenType === "DPoP" ? "DPoP" : "Bearer"} ${record.accessToken}`,
      },
      body: JSON.stringify({ notification_id: record.notificationId, event }),
    });
  } catch {
    return "offline";
  }
  if (response.ok) return "ok";
  return response.status === 401 ? "expired" : "failed";
}

// -- status (IETF Token Status List) ------------------------------------------------------------------

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The entry at idx: `bits` per entry, little-endian within each byte (draft-ietf-oauth-status-list §4.1). */
function statusAt(list, idx, bits) {
  const perByte = 8 / bits;
  const byte = list[Math.floor(idx / perByte)];
  if (byte === undefined) throw new WalletError("index outside the list", "status");
  return (byte >> ((idx % perByte) * bits)) & ((1 << bits) - 1);
}

async function fetchStatusList(uri) {
  const response = await request(uri, { headers: { Accept: "application/statuslist+jwt" } });
  if (!response.ok) throw new WalletError("status list " + response.status, "status");
  const { payload } = jwtParts((await response.text()).trim());
  const list = payload.status_list || {};
  const bits = Number(list.bits);
  if (![1, 2, 4, 8].includes(bits) || typeof list.lst !== "string") throw new WalletError("bad status list", "status");
  if (payload.sub && payload.sub !== uri) throw new WalletError("status list for another uri", "status");
  return { bits, entries: await inflate(bytesFromB64url(list.lst)) };
}

let refreshing = null;

async function refreshStatuses() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const records = await db.all();
    const byList = new Map();
    for (const record of records) {
      const reference = record.payload && record.payload.status && record.payload.status.status_list;
      if (!reference || typeof reference.uri !== "string") continue;
      if (!byList.has(reference.uri)) byList.set(reference.uri, []);
      byList.get(reference.uri).push([record, reference.idx]);
    }
    let failed = false;
    await Promise.all(
      [...byList].map(async ([uri, entries]) => {
        let list = null;
        try {
          list = await fetchStatusList(uri);
        } catch {
          failed = true;
        }
        for (const [record, idx] of entries) {
          const current = await db.get(record.id);
          if (!current) continue; // deleted meanwhile
          if (list) {
            let value;
            try {
              value = statusAt(list.entries, Number(idx), list.bits);
            } catch {
              value = -1;
            }
            current.status = STATUS_NAMES[value] || "unknown";
            current.statusCheckedAt = Date.now();
            current.statusCheckFailed = false;
          } else {
            current.statusCheckFailed = true;
          }
          await db.put(current);
        }
      }),
    );
    await render();
    return !failed;
  })();
  try {
    return await refreshing;
  } finally {
    refreshing = null;
  }
}

// -- rendering ------------------------------------------------------------------------------------------

const KNOWN_PLACEHOLDER = "—";

function formatDate(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(text || ""));
  if (!match) return String(text ?? "");
  const [, y, m, d] = match;
  return i18n.lang === "ja" ? `${Number(y)}年${Number(m)}月${Number(d)}日` : `${y}-${m}-${d}`;
}

function formatTime(ms) {
  return ms ? i18n.dateTime(ms) : t("never_checked");
}

function levelText(claims) {
  const colour = claims.level_colour && typeof claims.level_colour === "object" ? claims.level_colour[i18n.lang] : "";
  return t("level", { level: claims.level, colour: colour || "" }).replace(/（）|\(\)/, "").trim();
}

function insuranceText(value) {
  if (!value || typeof value !== "object") return KNOWN_PLACEHOLDER;
  const word = (v) => t("ins_" + (["enrolled", "exempt", "not_enrolled"].includes(v) ? v : "unknown"));
  return t("insurance", { health: word(value.health), pension: word(value.pension), employment: word(value.employment) });
}

/** A claim's value as text for the current language. */
function claimText(name, value, claims) {
  if (value === null || value === undefined || value === "") return KNOWN_PLACEHOLDER;
  switch (name) {
    case "level":
      return levelText(claims);
    case "level_colour":
      return typeof value === "object" ? value[i18n.lang] || value.ja || KNOWN_PLACEHOLDER : String(value);
    case "occupations":
      return Array.isArray(value) ? value.join(i18n.lang === "ja" ? "、" : ", ") || KNOWN_PLACEHOLDER : String(value);
    case "employer":
      return typeof value === "object" ? `${value.name || ""}${value.employer_id ? `（${value.employer_id}）` : ""}` : String(value);
    case "social_insurance":
      return insuranceText(value);
    case "kentaikyo":
      return value ? t("yes") : t("no");
    case "face_photo":
      return t("photo");
    case "completed_on":
    case "holder_birth_date":
      return formatDate(value);
    case "course_kind":
      return TEXT[i18n.lang]["kind_" + value] || String(value);
    default:
      if (typeof value === "object") return JSON.stringify(value);
      return String(value);
  }
}

/** Claim labels from the type metadata (SD-JWT VC §6), else the issuer metadata, else the name. */
function claimLabel(record, name) {
  const sources = [(record.typeMetadata && record.typeMetadata.claims) || [], record.claimDisplay || []];
  for (const list of sources) {
    const entry = list.find((c) => Array.isArray(c.path) && c.path.length === 1 && c.path[0] === name);
    const display = entry && pickDisplay(entry.display);
    if (display && (display.label || display.name)) return display.label || display.name;
  }
  return name;
}

function typeName(record) {
  const display =
    pickDisplay(record.typeMetadata && record.typeMetadata.display) || pickDisplay(record.configurationDisplay);
  return (display && display.name) || (record.typeMetadata && record.typeMetadata.name) || record.configurationId;
}

function typeColours(record) {
  const display = pickDisplay(record.typeMetadata && record.typeMetadata.display);
  const simple = display && display.rendering && display.rendering.simple;
  if (simple) return { background: simple.background_color, text: simple.text_color };
  const fallback = pickDisplay(record.configurationDisplay);
  return fallback ? { background: fallback.background_color, text: fallback.text_color } : {};
}

function shownStatus(record) {
  if (record.status === "revoked" || record.status === "suspended" || record.status === "unknown") return record.status;
  if (record.payload && record.payload.exp && record.payload.exp * 1000 <= Date.now()) return "expired";
  return "valid";
}

function title(record) {
  const c = record.claims;
  if (record.configurationId === CARD) return c.name || typeName(record);
  if (record.configurationId === CERTIFICATE) return c.course_name || typeName(record);
  return typeName(record);
}

function dataList(rows) {
  return el("dl", { class: "data" }, rows.filter(([, value]) => value !== null).flatMap(([label, value, cls]) => [
    el("dt", { text: label }),
    el("dd", { class: cls || null, text: value }),
  ]));
}

function cardBody(record) {
  const c = record.claims;
  const line = (name) => [claimLabel(record, name), name in c ? claimText(name, c[name], c) : null, "claim-" + name];
  if (record.configurationId === CARD) {
    const photo =
      Genba.isImageDataUrl(c.face_photo)
        ? el("img", { class: "face", src: c.face_photo, alt: claimLabel(record, "face_photo") })
        : null;
    const employer = c.employer && typeof c.employer === "object" ? c.employer.name || KNOWN_PLACEHOLDER : t("no_employer");
    return el(
      "div",
      { class: "credential-body" },
      photo,
      el(
        "div",
        { class: "card-text" },
        el("p", { class: "headline claim-name", text: c.name || "" }),
        dataList([
          line("technician_id"),
          line("level"),
          line("occupations"),
          [claimLabel(record, "employer"), employer, "claim-employer"],
        ]),
      ),
    );
  }
  if (record.configurationId === CERTIFICATE) {
    return el(
      "div",
      { class: "credential-body" },
      el(
        "div",
        { class: "card-text" },
        el("p", { class: "headline claim-course_name", text: c.course_name || "" }),
        dataList([line("completed_on"), line("training_body"), line("course_kind"), line("certificate_number")]),
      ),
    );
  }
  return el(
    "div",
    { class: "credential-body" },
    dataList(Object.keys(c).map((name) => line(name))),
  );
}

/** Which claims a presentation could reveal: every disclosure the wallet holds, with its label. */
function fieldsView(record) {
  const items = Object.keys(record.claims).map((name) =>
    el(
      "li",
      { "data-claim": name },
      el("span", { class: "label", text: claimLabel(record, name) }),
      el("span", { class: "value", text: claimText(name, record.claims[name], record.claims) }),
    ),
  );
  const expiry = record.payload && record.payload.exp ? new Date(record.payload.exp * 1000) : null;
  return el(
    "details",
    { class: "fields" },
    el("summary", { text: t("fields_summary") }),
    el("ul", {}, items),
    expiry ? el("p", { class: "note expiry", text: `${t("expires")}: ${expiry.toLocaleDateString(i18n.locale())}` }) : null,
    el("p", { class: "note", text: t("fields_note") }),
  );
}

function cardFor(record) {
  const status = shownStatus(record);
  const article = el(
    "article",
    {
      class: "credential",
      "data-id": record.id,
      "data-vct": (record.payload && record.payload.vct) || "",
      "data-config": record.configurationId,
      "data-status": status,
      "data-level": record.configurationId === CARD && record.claims.level ? String(record.claims.level) : null,
      "aria-label": `${typeName(record)}: ${title(record)}`,
    },
    el(
      "header",
      { class: "credential-head" },
      el("span", { class: "type-name", text: typeName(record) }),
      el("span", { class: "status-label", text: t("status_" + status) }),
    ),
    cardBody(record),
    fieldsView(record),
    el("div", { class: "card-actions" }, el("button", { type: "button", class: "delete", text: t("delete") })),
  );
  if (record.configurationId !== CARD && record.configurationId !== CERTIFICATE) {
    const colours = typeColours(record);
    // CSSOM, not a style attribute: allowed under style-src 'self'.
    if (colours.background) article.style.setProperty("--card-bg", colours.background);
    if (colours.text) article.style.setProperty("--card-ink", colours.text);
  }
  article.querySelector(".delete").addEventListener("click", () => deleteCredential(record.id).catch(report));
  return article;
}

let renderSeq = 0;

async function render() {
  const seq = ++renderSeq;
  const records = await db.all();
  if (seq !== renderSeq) return; // a later render is on its way
  const open = new Set([...document.querySelectorAll(".credential details[open]")].map((d) => d.closest("article").dataset.id));
  const cards = records.map(cardFor);
  for (const card of cards) if (open.has(card.dataset.id)) card.querySelector("details").open = true;
  $("#credentials").replaceChildren(...cards);
  $("#empty").hidden = records.length > 0;
  const checked = records.map((r) => r.statusCheckedAt || 0);
  const failed = records.some((r) => r.statusCheckFailed);
  const last = checked.length ? Math.min(...checked) : 0;
  $("#checked").textContent = records.length
    ? failed
      ? t("check_failed", { time: formatTime(last) })
      : t("checked_at", { time: formatTime(last) })
    : "";
}

// -- deleting ---------------------------------------------------------------------------------------------

async function deleteCredential(id) {
  const record = await db.get(id);
  if (!record) return;
  const name = title(record);
  if (!window.confirm(t("confirm_delete", { name }))) return;
  showError("");
  await db.remove(id); // local deletion first: it must happen even if the issuer cannot be told
  const card = document.querySelector(`.credential[data-id="${CSS.escape(id)}"]`);
  if (card) card.remove();
  $("#empty").hidden = document.querySelectorAll(".credential").length > 0;
  showMessage("");
  const outcome = await notify(record, "credential_deleted");
  if (outcome === "ok") showMessage(t("deleted", { name }));
  else if (outcome === "offline") showMessage(t("deleted_offline", { name }));
  else showMessage(t("deleted_not_notified", { name }));
  $("#message").dataset.outcome = outcome;
  await render();
}

// -- presenting (OpenID4VP 1.0 online; the offline gate profile, docs/offline-gate.md) ---------------------

const VP_SCHEMES = ["openid4vp:", "haip:", "eudi-openid4vp:"];
const NEVER_SENT = new Set(["face_photo"]); // the gate has the photo from the site roster
const FRAME_MS = 400;
const ES256 = { name: "ECDSA", hash: "SHA-256" };

let presentationPlan = null; // what is being asked, and which credential answers each query
let presentationQrTimer = null;
let presentScanner = null;

/** Loopback hosts may use http (development and tests); everything else must be https. */
function secureUrl(url) {
  return url.protocol === "https:" || (url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname));
}

/** A pasted or scanned gate QR code: { challenge } for GC1:, { link } for an OpenID4VP request. */
function parsePresentInput(text) {
  const value = String(text || "").trim();
  if (!value) throw new WalletError(t("err_vp_link"), "link");
  if (value.startsWith(Genba.CHALLENGE)) {
    try {
      return { challenge: Genba.decodeChallenge(value) };
    } catch {
      throw new WalletError(t("err_vp_link"), "link");
    }
  }
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new WalletError(t("err_vp_link"), "link");
  }
  if (!VP_SCHEMES.includes(url.protocol) && !url.searchParams.get("request_uri")) throw new WalletError(t("err_vp_link"), "link");
  return { link: url };
}

/**
 * OpenID4VP 1.0 §5.10 request by reference with a signed request object (§5.7): the x509_san_dns client
 * id names the request_uri's host, the x5c leaf certificate names that host in a DNS SAN and signs the
 * request object, whose client_id, response_mode (direct_post) and response_uri (same host) are checked.
 */
async function loadVpRequest(link) {
  const clientId = link.searchParams.get("client_id") || "";
  const requestUri = link.searchParams.get("request_uri") || "";
  let target;
  try {
    target = new URL(requestUri);
  } catch {
    throw new WalletError(t("err_vp_link"), "link");
  }
  const fail = (why) => new WalletError(t("err_vp_request", { error: why }), "request_object");
  if (!secureUrl(target)) throw fail("request_uri");
  if (clientId !== `x509_san_dns:${target.hostname}`) throw fail("client_id");
  const response = await request(target.href, { headers: { Accept: "application/oauth-authz-req+jwt" } });
  if (response.status === 400 || response.status === 404) throw new WalletError(t("err_vp_expired"), "expired");
  if (!response.ok) throw fail(`HTTP ${response.status}`);
  const token = (await response.text()).trim();
  let jws;
  try {
    jws = Genba.splitJws(token);
  } catch {
    throw fail("request object");
  }
  if (jws.header.typ !== "oauth-authz-req+jwt" || !Array.isArray(jws.header.x5c) || !jws.header.x5c.length) throw fail("typ / x5c");
  let certificate;
  try {
    certificate = Genba.parseCertificate(Genba.bytesFromBase64(jws.header.x5c[0], false));
  } catch {
    throw fail("x5c");
  }
  const now = Date.now();
  if (!certificate.dnsNames.includes(target.hostname) || now < certificate.notBefore || now > certificate.notAfter) {
    throw fail("x5c " + target.hostname);
  }
  const verified = await Genba.verifyJws(token, await Genba.importSpki(certificate.spki)).catch(() => null);
  if (!verified) throw fail("signature");
  const claims = verified.payload || {};
  let responseUri;
  try {
    responseUri = new URL(claims.response_uri);
  } catch {
    throw fail("response_uri");
  }
  if (claims.client_id !== clientId) throw fail("client_id");
  if (claims.response_type !== "vp_token" || claims.response_mode !== "direct_post") throw fail("response_mode");
  if (responseUri.hostname !== target.hostname || !secureUrl(responseUri)) throw fail("response_uri");
  if (typeof claims.nonce !== "string" || !claims.nonce) throw fail("nonce");
  if (Number.isInteger(claims.exp) && claims.exp * 1000 < now) throw new WalletError(t("err_vp_expired"), "expired");
  const dcql = claims.dcql_query;
  if (!dcql || !Array.isArray(dcql.credentials) || dcql.credentials.length === 0) throw fail("dcql_query");
  return {
    mode: "online",
    host: target.hostname,
    dcql,
    aud: clientId, // OpenID4VP 1.0 §B.3.6: the KB-JWT aud is the full client_id
    nonce: claims.nonce,
    state: typeof claims.state === "string" ? claims.state : null,
    responseUri: responseUri.href,
  };
}

/** The offline challenge carries only the kind of work: the requirement is the site default for it. */
function offlineRequest(challenge, records) {
  const card = records.find((r) => r.configurationId === CARD) || records[0];
  const issuer = (card && card.payload && card.payload.iss) || (card && card.issuer) || location.origin;
  return {
    mode: "offline",
    challenge,
    dcql: Genba.defaultDcql(issuer, challenge.work_kind),
    aud: challenge.audience,
    nonce: challenge.nonce,
  };
}

const STATUS_RANK = { valid: 0, unknown: 1, expired: 2, suspended: 3, revoked: 4 };

/** For each credential query: the held credential that answers it (valid ones first, newest first). */
function matchCredentials(dcql, records) {
  return dcql.credentials.map((query) => {
    const candidates = records
      .filter((r) => (r.format || "dc+sd-jwt") === (query.format || "dc+sd-jwt"))
      .filter((r) => Genba.satisfies(query, r.payload && r.payload.vct, { ...r.payload, ...r.claims }) === null)
      .sort((a, b) => STATUS_RANK[shownStatus(a)] - STATUS_RANK[shownStatus(b)] || b.receivedAt - a.receivedAt);
    const record = candidates[0] || null;
    const reveal = Genba.revealedClaims(query).filter((name) => !NEVER_SENT.has(name));
    return { query, record, reveal };
  });
}

async function openPresentation(text) {
  showError("");
  showMessage("");
  const input = parsePresentInput(text);
  const records = await db.all();
  const plan = input.challenge ? offlineRequest(input.challenge, records) : await loadVpRequest(input.link);
  plan.items = matchCredentials(plan.dcql, records);
  presentationPlan = plan;
  showPresentation(plan);
}

function showPresentation(plan) {
  const to =
    plan.mode === "online"
      ? t("presentation_to_online", { host: plan.host })
      : t("presentation_to_offline", {
          site: plan.challenge.site_id,
          gate: plan.challenge.gate_id,
          kind: t("kind_" + Genba.knownWorkKind(plan.challenge.work_kind)),
        });
  $("#presentation-to").textContent = to;
  $("#presentation").dataset.mode = plan.mode;
  const items = plan.items.map(({ query, record, reveal }) => {
    if (!record) {
      const [ja, en] = Genba.describe(query);
      return el("div", { class: "present-item missing", "data-query": query.id }, el("p", { class: "missing-text", text: t("presentation_missing", { what: i18n.lang === "en" ? en : ja }) }));
    }
    const status = shownStatus(record);
    return el(
      "div",
      { class: "present-item", "data-query": query.id, "data-credential": record.id, "data-status": status },
      el("h3", { text: `${typeName(record)}: ${title(record)}` }),
      status !== "valid" ? el("p", { class: "present-warning", text: t("presentation_status", { status: t("status_" + status) }) }) : null,
      el(
        "ul",
        { class: "present-fields" },
        reveal.map((name) =>
          el(
            "li",
            { "data-claim": name },
            el("span", { class: "label", text: claimLabel(record, name) }),
            el("span", { class: "value", text: name in record.claims ? claimText(name, record.claims[name], record.claims) : KNOWN_PLACEHOLDER }),
          ),
        ),
      ),
    );
  });
  $("#presentation-items").replaceChildren(...items);
  const usable = plan.items.some((item) => item.record);
  $("#approve-presentation").disabled = !usable;
  if (!usable) showError(t("presentation_nothing"));
  $("#presentation").hidden = false;
  $("#present").hidden = true;
  $("#presentation").scrollIntoView({ block: "start" });
}

function closePresentation() {
  presentationPlan = null;
  stopPresentationQr();
  $("#presentation").hidden = true;
  $("#present").hidden = false;
  showProgress("");
}

/**
 * RFC 9901 §4.3: the issuer-signed JWT with only the disclosures named, then a KB-JWT (typ kb+jwt; iat,
 * aud, nonce, sd_hash = base64url(SHA-256(<issuer JWT>~<disclosures>~))) signed with the credential's
 * own non-extractable key.
 */
async function presentCredential(record, reveal, aud, nonce) {
  const parts = String(record.sdJwt).split("~");
  const wanted = new Set(reveal);
  const kept = parts.slice(1, -1).filter((disclosure) => {
    if (!disclosure) return false;
    try {
      const content = jsonFromB64url(disclosure);
      return Array.isArray(content) && content.length === 3 && wanted.has(content[1]) && !NEVER_SENT.has(content[1]);
    } catch {
      return false;
    }
  });
  const withoutKb = parts[0] + "~" + kept.map((d) => d + "~").join("");
  const claims = { iat: Math.floor(Date.now() / 1000), aud, nonce, sd_hash: await sha256B64url(withoutKb) };
  const input = `${b64urlJson({ typ: "kb+jwt", alg: "ES256" })}.${b64urlJson(claims)}`;
  const signature = await crypto.subtle.sign(ES256, record.privateKey, encoder.encode(input));
  return `${withoutKb}${input}.${b64urlFromBytes(signature)}`;
}

async function approvePresentation() {
  const plan = presentationPlan;
  if (!plan) return;
  showError("");
  showProgress(t("presenting"));
  const vpToken = {};
  for (const { query, record, reveal } of plan.items) {
    if (record) vpToken[query.id] = [await presentCredential(record, reveal, plan.aud, plan.nonce)];
  }
  if (plan.mode === "online") {
    const form = new URLSearchParams({ vp_token: JSON.stringify(vpToken) });
    if (plan.state) form.set("state", plan.state);
    const response = await request(plan.responseUri, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: form.toString(),
    });
    showProgress("");
    if (!response.ok) {
      const body = await errorBody(response);
      throw new WalletError(t("err_vp_response", { error: body.error_description || body.error || response.status }), "response");
    }
    closePresentation();
    showMessage(t("presented_online"));
    $("#message").dataset.outcome = "presented";
    return;
  }
  const frames = await Genba.encodePresentation(plan.nonce, vpToken);
  showProgress("");
  showPresentationQr(frames);
}

/** One QR code, or the frames in turn every 400 ms (an animated QR code the gate assembles in any order). */
function showPresentationQr(frames) {
  stopPresentationQr();
  const box = $("#presentation-qr-box");
  const canvas = $("#presentation-qr");
  box.hidden = false;
  canvas.dataset.frames = String(frames.length);
  const ratio = window.devicePixelRatio || 1;
  const available = Math.max(240, Math.min(box.clientWidth - 16, box.clientHeight - 160));
  let index = 0;
  const draw = () => {
    Genba.drawQr(canvas, frames[index], { size: Math.floor(available * ratio), level: "L", margin: 4 });
    canvas.style.setProperty("width", `${canvas.width / ratio}px`);
    canvas.style.setProperty("height", `${canvas.height / ratio}px`);
    canvas.dataset.frame = String(index + 1);
    $("#presentation-qr-frames").textContent = frames.length > 1 ? t("presentation_qr_frames", { n: frames.length, i: index + 1 }) : "";
    index = (index + 1) % frames.length;
  };
  draw();
  if (frames.length > 1) presentationQrTimer = setInterval(draw, FRAME_MS);
}

function stopPresentationQr() {
  clearInterval(presentationQrTimer);
  presentationQrTimer = null;
  $("#presentation-qr-box").hidden = true;
}

async function toggleScan() {
  const video = $("#present-camera");
  const button = $("#present-scan");
  if (presentScanner) {
    presentScanner.stop();
    presentScanner = null;
    video.hidden = true;
    button.textContent = t("present_scan");
    return;
  }
  video.hidden = false;
  button.textContent = t("present_scan_stop");
  presentScanner = new Genba.Scanner(video, (text) => {
    if (!text.startsWith(Genba.CHALLENGE) && !/^[a-z][a-z0-9+.-]*:/i.test(text)) return;
    presentScanner.stop();
    presentScanner = null;
    video.hidden = true;
    button.textContent = t("present_scan");
    openPresentation(text).catch(report);
  });
  try {
    await presentScanner.start();
  } catch (error) {
    presentScanner = null;
    video.hidden = true;
    button.textContent = t("present_scan");
    throw new WalletError(t("err_camera", { error: error.message }), "camera");
  }
}

/** #vp=<url-encoded openid4vp:// link> (or a GC1: challenge), as a gate can hand it over. */
function presentationFromHash() {
  const hash = location.hash.replace(/^#/, "");
  if (!hash) return null;
  const value = new URLSearchParams(hash).get("vp");
  if (!value) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return value;
}

// -- start ---------------------------------------------------------------------------------------------------

function report(error) {
  showProgress("");
  showError(error instanceof WalletError ? error.message : `${t("err_credential", { error: error && error.message })}`);
}

function offerFromHash() {
  const hash = location.hash.replace(/^#/, "");
  if (!hash) return null;
  const params = new URLSearchParams(hash);
  const offer = params.get("offer") || params.get("credential_offer_uri");
  if (!offer) return null;
  // The offer is single use: do not fetch it again on a reload.
  history.replaceState(null, "", location.pathname + location.search);
  return offer;
}

function bind() {
  i18n.bindSwitch(() => {
    applyLanguage();
    render().catch(report);
  });
  $("#refresh").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    showError("");
    try {
      const ok = await refreshStatuses();
      if (!ok) showError(t("err_network"));
    } catch (error) {
      report(error);
    } finally {
      button.disabled = false;
    }
  });
  $("#offer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("#accept");
    button.disabled = true;
    try {
      await acceptOffer();
    } catch (error) {
      report(error);
    } finally {
      button.disabled = false;
    }
  });
  $("#decline").addEventListener("click", closeOffer);
  $("#paste-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadOffer($("#offer-input").value)
      .then(() => ($("#offer-input").value = ""))
      .catch(report);
  });
  $("#present-form").addEventListener("submit", (event) => {
    event.preventDefault();
    openPresentation($("#present-input").value)
      .then(() => ($("#present-input").value = ""))
      .catch(report);
  });
  $("#present-scan").addEventListener("click", () => toggleScan().catch(report));
  $("#approve-presentation").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      await approvePresentation();
    } catch (error) {
      report(error);
    } finally {
      button.disabled = !presentationPlan;
    }
  });
  $("#cancel-presentation").addEventListener("click", closePresentation);
  $("#close-presentation").addEventListener("click", closePresentation);
  window.addEventListener("hashchange", () => {
    const offer = offerFromHash();
    if (offer) loadOffer(offer).catch(report);
    const vp = presentationFromHash();
    if (vp) openPresentation(vp).catch(report);
  });
}

async function start() {
  bind();
  applyLanguage();
  Genba.registerWorker("/wallet/sw.js", "/wallet/");
  try {
    await render();
  } catch (error) {
    showError(t("err_storage"));
    return;
  }
  const offer = offerFromHash();
  if (offer) loadOffer(offer).catch(report);
  const vp = presentationFromHash();
  if (vp) openPresentation(vp).catch(report);
  refreshStatuses().catch(() => {});
}

document.addEventListener("DOMContentLoaded", () => {
  start().catch(report);
});
