// @ts-check
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

import { $, registerWorker } from "../common/dom.js";
import { render } from "./cards.js";
import { acceptOffer, closeOffer, loadOffer, pending, showOffer } from "./offer.js";
import { i18n, report, showError, t } from "./page.js";
import { approvePresentation, closePresentation, openPresentation, presentationFromHash, presentationPlan, showPresentation, toggleScan } from "./present.js";
import { refreshStatuses } from "./status.js";

function applyLanguage() {
  i18n.apply();
  $(".actions-bar").setAttribute("aria-label", t("actions"));
  if (pending) showOffer(pending);
  if (presentationPlan) showPresentation(presentationPlan);
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

/** Every control of the page wired in one place (long, but a flat list of listeners). */
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
  registerWorker("/wallet/sw.js", "/wallet/");
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
