// @ts-check
/* 現場IDウォレット: presenting at a site gate — the technician first sees exactly which fields each
 * credential reveals; then direct_post (online) or a GP1 QR code, animated when it needs several frames
 * (offline). The camera reads the gate's QR code. */

import { describe, knownWorkKind } from "../common/dcql.js";
import { $, el } from "../common/dom.js";
import { CHALLENGE, encodePresentation } from "../common/offline.js";
import { Scanner, drawQr } from "../common/qr.js";
import { present } from "../common/sdjwt.js";
import { KNOWN_PLACEHOLDER, claimLabel, claimText, shownStatus, title, typeName } from "./display.js";
import { WalletError, errorBody, i18n, report, request, showError, showMessage, showProgress, t } from "./page.js";
import { NEVER_SENT, loadVpRequest, matchCredentials, offlineRequest, parsePresentInput } from "./request.js";
import { db } from "./store.js";

const FRAME_MS = 400;

export let presentationPlan = null; // what is being asked, and which credential answers each query
let presentationQrTimer = null;
let presentScanner = null;


export async function openPresentation(text) {
  showError("");
  showMessage("");
  const input = parsePresentInput(text);
  const records = await db.all();
  const plan = input.challenge ? offlineRequest(input.challenge, records) : await loadVpRequest(input.link);
  plan.items = matchCredentials(plan.dcql, records);
  presentationPlan = plan;
  showPresentation(plan);
}

/** Who asks, in words (issue 15, item 7): the site and its prime contractor, else the host or 現場ID. */
function recipient(plan) {
  const site = plan.siteName || (plan.mode === "online" ? plan.host : plan.challenge.site_id);
  return plan.primeName ? t("presentation_who", { site, prime: plan.primeName }) : site;
}

export function showPresentation(plan) {
  const who = recipient(plan);
  const to =
    plan.mode === "online"
      ? t("presentation_to_online", { who })
      : t("presentation_to_offline", {
          who,
          gate: plan.challenge.gate_id,
          kind: t("kind_" + knownWorkKind(plan.challenge.work_kind)),
        });
  $("#presentation-to").textContent = to;
  $("#presentation").dataset.mode = plan.mode;
  const items = plan.items.map(({ query, record, reveal }) => {
    if (!record) {
      const [ja, en] = describe(query);
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

export function closePresentation() {
  presentationPlan = null;
  stopPresentationQr();
  $("#presentation").hidden = true;
  $("#present").hidden = false;
  showProgress("");
}

/**
 * RFC 9901 §4.3: the issuer-signed JWT with only the disclosures named (never the face photo), then a
 * KB-JWT (typ kb+jwt; iat, aud, nonce, sd_hash) signed with the credential's own non-extractable key
 * (common/sdjwt.js present).
 */
export async function presentCredential(record, reveal, aud, nonce) {
  const wanted = new Set(reveal);
  return present(record.sdJwt, (name) => wanted.has(name) && !NEVER_SENT.has(name), {
    privateKey: record.privateKey,
    aud,
    nonce,
    iat: Math.floor(Date.now() / 1000),
  });
}

export async function approvePresentation() {
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
  const frames = await encodePresentation(plan.nonce, vpToken);
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
    drawQr(canvas, frames[index], { size: Math.floor(available * ratio), level: "L", margin: 4 });
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

export async function toggleScan() {
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
  presentScanner = new Scanner(video, (text) => {
    if (!text.startsWith(CHALLENGE) && !/^[a-z][a-z0-9+.-]*:/i.test(text)) return;
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
export function presentationFromHash() {
  const hash = location.hash.replace(/^#/, "");
  if (!hash) return null;
  const value = new URLSearchParams(hash).get("vp");
  if (!value) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return value;
}
