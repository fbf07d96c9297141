// @ts-check
/* 現場ゲート: checking one person — online with an OpenID4VP 1.0 request the server verifies (its QR code
 * shown, the result polled), or offline with a GC1 challenge QR and the wallet's GP1 QR code(s) read from
 * the camera and verified here (verify.js); every offline result is queued for upload (queue.js). */

import { randomB64url } from "../common/base64url.js";
import { knownWorkKind } from "../common/dcql.js";
import { $ } from "../common/dom.js";
import { encodeChallenge, isPresentationFrame } from "../common/offline.js";
import { Scanner, drawQr } from "../common/qr.js";
import { siteName } from "./operator.js";
import { GateError, report, showError, showMessage, t } from "./page.js";
import { postJson, upload } from "./queue.js";
import { showResult } from "./result.js";
import { saveSettings, settings, state, store } from "./store.js";
import { loadBundle } from "./sync.js";
import { verifyOffline } from "./verify.js";

const POLL_MS = 1000;
const REQUEST_LIFETIME_MS = 5 * 60 * 1000;
const CHALLENGE_RENEW_MS = 4 * 60 * 1000;

// -- checking: shared ------------------------------------------------------------------------------------------

function kindLabel(kind) {
  return t("kind_" + knownWorkKind(kind));
}

function showCheck(mode) {
  const s = settings();
  state.mode = mode;
  $("#setup").hidden = true;
  $("#result").hidden = true;
  $("#check").hidden = false;
  $("#check").dataset.mode = mode;
  $("#check-title").textContent = t("check_title", { direction: t("dir_" + s.direction), kind: kindLabel(s.kind) });
  $("#check-mode").textContent = t(mode === "online" ? "mode_online" : "mode_offline", { site: siteName(s.site), gate: s.gate });
  $("#online").hidden = mode !== "online";
  $("#offline").hidden = mode !== "offline";
}

export function stopChecking() {
  clearTimeout(state.pollTimer);
  clearTimeout(state.renewTimer);
  state.pollTimer = state.renewTimer = null;
  state.request = null;
  state.challenge = null;
  state.collector.reset();
  if (state.scanner) state.scanner.stop();
  state.scanner = null;
}

export function backToSetup() {
  stopChecking();
  state.mode = null;
  $("#check").hidden = true;
  $("#result").hidden = true;
  $("#setup").hidden = false;
}

export async function startCheck() {
  showError("");
  showMessage("");
  stopChecking();
  saveSettings();
  await loadBundle();
  const s = settings();
  if (!s.site) throw new GateError(t("err_forbidden"), "no_site");
  if (s.offline || !navigator.onLine) return startOffline();
  try {
    await startOnline();
  } catch (error) {
    if (error.code !== "network") throw error;
    showMessage(t("fell_offline"));
    await startOffline();
  }
}

// -- online (OpenID4VP 1.0, checked by the server) ---------------------------------------------------------

function svgDataUrl(svg) {
  let text = String(svg);
  if (!/xmlns=/.test(text.slice(0, 200))) text = text.replace(/^<svg\b/, '<svg xmlns="http://www.w3.org/2000/svg"');
  return "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(text)));
}

async function startOnline() {
  const s = settings();
  let response;
  try {
    response = await postJson("/gate/requests", { site_id: s.site, gate_id: s.gate, work_kind: s.kind, direction: s.direction });
  } catch {
    throw new GateError(t("err_network"), "network");
  }
  if (response.status === 401 || response.status === 403) {
    state.loginNeeded = true;
    $("#signin").hidden = false;
    throw new GateError(t("err_forbidden"), "forbidden");
  }
  if (!response.ok) throw new GateError(t("err_request", { error: response.status }), "request");
  const created = await response.json();
  state.request = { id: created.request_id, link: created.link, created: Date.now(), settings: s };
  showCheck("online");
  const image = $("#online-qr");
  image.src = svgDataUrl(created.qr_svg);
  image.alt = created.link;
  image.dataset.link = created.link;
  image.dataset.requestId = created.request_id;
  schedulePoll();
}

function schedulePoll() {
  clearTimeout(state.pollTimer);
  state.pollTimer = setTimeout(() => poll().catch(() => schedulePoll()), POLL_MS);
}

async function poll() {
  const request = state.request;
  if (!request || state.mode !== "online") return;
  if (Date.now() - request.created > REQUEST_LIFETIME_MS) {
    showMessage(t("request_expired"));
    await startOnline().catch(() => startOffline());
    return;
  }
  let response;
  try {
    response = await fetch(`/gate/requests/${encodeURIComponent(request.id)}/result`, {
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    if (!navigator.onLine) return switchToOffline();
    return schedulePoll();
  }
  if (state.request !== request) return;
  if (!response.ok) return schedulePoll();
  const body = await response.json();
  if (!body.answered || !body.result) return schedulePoll();
  const result = body.result;
  state.request = null;
  const event = {
    event_key: "online:" + request.id,
    site_id: request.settings.site,
    gate_id: request.settings.gate,
    technician_id: result.technician_id || null,
    direction: result.direction || request.settings.direction,
    at: Math.floor(Date.now() / 1000),
    ok: Boolean(result.ok),
    reasons: Array.isArray(result.reasons) ? result.reasons : [],
    name: result.name || null,
    mode: "online",
    uploaded: true, // the server recorded it when it checked the presentation
    recorded_by: state.operator ? state.operator.username : null,
  };
  await store.putEvent(event).catch(() => {});
  showResult(result, event.direction);
}

export async function switchToOffline() {
  if (state.mode !== "online") return;
  stopChecking();
  await loadBundle();
  if (!state.bundle) {
    backToSetup();
    showError(t("err_no_bundle"));
    return;
  }
  showMessage(t("fell_offline"));
  await startOffline();
}

// -- offline (GC1 challenge, GP1 presentation, checked here) -----------------------------------------------

async function startOffline() {
  if (!state.bundle) {
    backToSetup();
    throw new GateError(t("err_no_bundle"), "no_bundle");
  }
  showCheck("offline");
  newChallenge();
  await startCamera();
}

function newChallenge() {
  const s = settings();
  const bundle = state.bundle;
  clearTimeout(state.renewTimer);
  state.challenge = {
    site_id: bundle.site_id,
    gate_id: bundle.gate_id,
    work_kind: s.kind,
    nonce: randomB64url(16), // 128 bits, new for every person
    time: Math.floor(Date.now() / 1000),
    audience: bundle.audience,
    direction: s.direction,
    // who asks, in words, for the technician's wallet (issue 15, item 7; docs/offline-gate.md §2)
    site_name: bundle.site_name || "",
    prime_name: bundle.prime_name || "",
  };
  state.collector.reset();
  const canvas = $("#challenge-qr");
  drawQr(canvas, encodeChallenge(state.challenge), { size: 560, level: "M" });
  canvas.dataset.issuedAt = String(state.challenge.time);
  $("#scan-progress").textContent = t("scanning");
  // A challenge lives 5 minutes: show a new one before then while nobody is being read.
  state.renewTimer = setTimeout(function renew() {
    if (state.mode !== "offline" || !state.challenge) return;
    if (state.collector.seen === 0) newChallenge();
    else state.renewTimer = setTimeout(renew, 30 * 1000);
  }, CHALLENGE_RENEW_MS);
}

export async function startCamera() {
  if (state.scanner) state.scanner.stop();
  state.scanner = new Scanner($("#camera"), onScanned, { facingMode: state.facingMode });
  try {
    await state.scanner.start();
  } catch (error) {
    showError(t("err_camera", { error: error.message }));
  }
}

function onScanned(text) {
  if (state.mode !== "offline" || !state.challenge || state.busy) return;
  if (!isPresentationFrame(text)) return;
  const frames = state.collector.add(text);
  if (!frames) {
    $("#scan-progress").textContent = t("frames", { seen: state.collector.seen, total: state.collector.total });
    return;
  }
  verifyScanned(frames).catch(report);
}

async function verifyScanned(frames) {
  state.busy = true;
  const challenge = state.challenge;
  try {
    if (state.scanner) state.scanner.stop();
    state.scanner = null;
    clearTimeout(state.renewTimer);
    $("#scan-progress").textContent = t("verifying");
    const result = await verifyOffline(frames, challenge, state.bundle, { direction: challenge.direction });
    state.challenge = null; // one person per challenge
    const event = {
      event_key: result.event_key,
      site_id: challenge.site_id,
      gate_id: challenge.gate_id,
      technician_id: result.technician_id ? String(result.technician_id) : null,
      direction: challenge.direction,
      at: Math.floor(Date.now() / 1000),
      ok: result.ok,
      reasons: result.reasons.map(({ code, ja, en }) => ({ code, ja, en })),
      name: result.name || null,
      mode: "offline",
      uploaded: false,
      // what the server verifies again before it records an entry, and who recorded it
      challenge: encodeChallenge(challenge),
      presentation: frames.slice(),
      recorded_by: state.operator ? state.operator.username : null,
    };
    const existing = await store.event(event.event_key).catch(() => null);
    if (!existing) await store.putEvent(event).catch(() => showError(t("err_storage")));
    showResult(result, challenge.direction);
    upload().catch(() => {});
  } finally {
    state.busy = false;
  }
}
