// @ts-check
/* 現場ゲート — the gate page for the prime contractor's staff (vanilla JavaScript, no build step).
 *
 * - Setup: site, gate name, kind of work and direction; 「同期」 fetches /gate/sync (pinned root, issuer
 *   keys, status lists, requirements, today's roster with photos) into IndexedDB.
 * - Online: one OpenID4VP 1.0 request per person (POST /gate/requests); its QR code is shown and the
 *   result polled (GET /gate/requests/{id}/result). The server verifies and records.
 * - Offline (no network, a failed request, or the toggle): a GC1 challenge QR (a new 128-bit nonce per
 *   person), the wallet's GP1 QR code(s) read from the camera, verified here with the synced bundle
 *   (verify.js). Every result is queued in IndexedDB and uploaded to POST /gate/events when the
 *   network returns (on load, on the 'online' event and after each check); the server records each
 *   event key once.
 * - Today's list: the synced roster with what this gate has seen today.
 * - Work history only from verified presentations (issue 12): every queued offline result carries the
 *   challenge shown and the presentation read (GP1 frames), so the server verifies it again before it
 *   records an entry; and the staff member who recorded it (recorded_by), whose session alone may
 *   upload it.
 * - A shared tablet (issue 12, item 10): when /gate/operator says nobody is signed in, or someone else
 *   is, the previous staff member's synced bundles (rosters with face photos), operator details,
 *   settings and uploaded results are deleted from this device. A queue not yet sent is kept only for
 *   the staff who recorded it — sent when they sign in again, deleted unsent when someone else signs
 *   in. 「ログアウト」 sends what it can, deletes everything, then signs out.
 */

import { $, registerWorker } from "../common/dom.js";
import { backToSetup, startCamera, startCheck, switchToOffline } from "./check.js";
import { collectSites, loadOperator, renderNet, renderSiteName, renderSites, signOut } from "./operator.js";
import { i18n, report } from "./page.js";
import { renderToday, upload } from "./queue.js";
import { restoreSettings, saveSettings, state } from "./store.js";
import { loadBundle, renderSyncState, sync } from "./sync.js";

const RETRY_MS = 60 * 1000;

// -- language and the network indicator -------------------------------------------------------------------

function applyLanguage() {
  i18n.apply();
  renderNet();
  renderSites();
  renderSyncState();
  renderToday().catch(() => {});
}


function bind() {
  i18n.bindSwitch(applyLanguage);
  $("#setup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const button = $("#start");
    button.disabled = true;
    startCheck()
      .catch(report)
      .finally(() => (button.disabled = false));
  });
  $("#sync").addEventListener("click", () => {
    const button = $("#sync");
    button.disabled = true;
    sync()
      .catch(report)
      .finally(() => (button.disabled = false));
  });
  for (const input of ["#site", "#gate-id"]) {
    $(input).addEventListener("change", () => {
      saveSettings();
      renderSiteName();
      loadBundle().catch(report);
    });
  }
  $("#setup-form").addEventListener("change", saveSettings);
  $("#stop").addEventListener("click", backToSetup);
  $("#signout").addEventListener("click", () => {
    signOut().catch(report);
  });
  $("#result-setup").addEventListener("click", backToSetup);
  $("#switch-camera").addEventListener("click", () => {
    if (state.mode !== "offline" || state.busy) return;
    state.facingMode = state.facingMode === "user" ? "environment" : "user";
    startCamera().catch(report);
  });
  $("#next").addEventListener("click", () => {
    $("#result").hidden = true;
    startCheck().catch((error) => {
      backToSetup();
      report(error);
    });
  });
  window.addEventListener("online", () => {
    renderNet();
    upload().catch(() => {});
  });
  window.addEventListener("offline", () => {
    renderNet();
    if (state.mode === "online") switchToOffline().catch(report);
  });
  setInterval(() => {
    if (navigator.onLine) upload().catch(() => {});
  }, RETRY_MS);
}

async function start() {
  bind();
  restoreSettings();
  applyLanguage();
  registerWorker("/gate/sw.js", "/gate/");
  await loadOperator();
  await collectSites();
  renderSites();
  await loadBundle();
  document.body.dataset.ready = "true";
  await upload();
}

document.addEventListener("DOMContentLoaded", () => {
  start().catch(report);
});
