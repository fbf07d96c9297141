// @ts-check
/* 現場IDウォレット: a credential offer (OpenID4VCI 1.0 §4, pre-authorized code) — read from a link or
 * #offer=, shown with its transaction code field, and accepted: the token, then every credential
 * (issuance.js), each stored and acknowledged. */

import { $, el } from "../common/dom.js";
import { render } from "./cards.js";
import { notify, receiveOne, requestsFor, tokenEndpoint } from "./issuance.js";
import { WalletError, errorBody, getJson, pickDisplay, request, showError, showMessage, showProgress, t, wellKnown } from "./page.js";
import { refreshStatuses } from "./status.js";
import { db } from "./store.js";

const PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const OFFER_SCHEME = "openid-credential-offer:";

export let pending = null; // the offer being looked at: { offer, metadata, grant, issuer }

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

export async function loadOffer(text) {
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

export function showOffer({ offer, metadata, grant }) {
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

export function closeOffer() {
  pending = null;
  $("#offer").hidden = true;
  $("#receive").hidden = false;
  $("#tx-code").value = "";
  showProgress("");
}

/**
 * The offer accepted: the transaction code checked, the token (OpenID4VCI 1.0 §6), then every credential
 * received, stored and acknowledged (§11) in turn, with the progress shown — one sequence, kept together.
 */
export async function acceptOffer() {
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
