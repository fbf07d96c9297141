// @ts-check
/* 現場ゲート: the queue of results uploaded to POST /gate/events when the network returns (each event
 * key recorded once by the server; only the staff member who recorded a result sends it), and today's
 * list: the synced roster with what this gate has seen today. */

import { $, el, isImageDataUrl } from "../common/dom.js";
import { t, timeText } from "./page.js";
import { currentUser, state, store } from "./store.js";

const UPLOAD_BATCH = 50; // each event carries its presentation (a few kB); the server takes 200 at most

/** POST JSON to the gate's API with the operator's session (rejects when there is no network). */
export function postJson(path, body) {
  return fetch(path, {
    method: "POST",
    credentials: "same-origin",
    cache: "no-store",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
}


// -- the upload queue -------------------------------------------------------------------------------------------

let uploading = null;
let uploadNeedsLogin = false;

export function upload() {
  if (!uploading) {
    uploading = uploadPending().finally(() => {
      uploading = null;
      renderToday().catch(() => {});
    });
  }
  return uploading;
}

async function uploadPending() {
  const user = currentUser();
  if (!user || !navigator.onLine) return;
  // Only this staff member's own results: another's queue is never sent from this session.
  const pending = (await store.events()).filter((e) => !e.uploaded && e.recorded_by === user);
  for (let i = 0; i < pending.length; i += UPLOAD_BATCH) {
    const batch = pending.slice(i, i + UPLOAD_BATCH);
    let response;
    try {
      response = await postJson(
        "/gate/events",
        batch.map(({ event_key, site_id, gate_id, technician_id, direction, at, ok, reasons, recorded_by, challenge, presentation }) => ({
          event_key,
          site_id,
          gate_id,
          technician_id,
          direction,
          at,
          ok,
          reasons,
          recorded_by,
          challenge,
          presentation,
        })),
      );
    } catch {
      return; // still offline: the 'online' event or the next check tries again
    }
    uploadNeedsLogin = response.status === 401 || response.status === 403;
    if (!response.ok) return;
    const sentAt = Date.now();
    for (const event of batch) {
      // Sent: the presentation is not kept on the tablet any longer than needed.
      const { presentation, challenge, ...kept } = event;
      await store.putEvent({ ...kept, uploaded: true, uploadedAt: sentAt });
    }
  }
}

// -- today's list ------------------------------------------------------------------------------------------------

function sameDay(aMs, bMs) {
  const a = new Date(aMs);
  const b = new Date(bMs);
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

let renderingToday = Promise.resolve();

export function renderToday() {
  renderingToday = renderingToday.then(renderTodayNow, renderTodayNow);
  return renderingToday;
}

async function renderTodayNow() {
  const site = $("#site").value;
  const user = currentUser();
  const stored = await store.events().catch(() => []);
  // Another staff member's results (an unsent queue kept for them) are counted, never shown.
  const events = stored.filter((e) => user && e.recorded_by === user);
  const pending = stored.filter((e) => !e.uploaded).length;
  const queue = $("#queue-state");
  queue.dataset.pending = String(pending);
  const owner = !user && state.pendingOwner;
  queue.textContent = !pending
    ? t("queue_done")
    : owner
      ? t("queue_owner", { count: pending, user: state.pendingOwner })
      : t(uploadNeedsLogin || !user ? "queue_login" : "queue_pending", { count: pending });
  const now = Date.now();
  const today = events.filter((e) => e.site_id === site && sameDay(e.at * 1000, now));
  // technician -> what today's list shows: the latest entry or exit made; a refusal only while none was
  // made — a later refusal (a replayed QR code, a second scan) never hides an entry (issue 15, item 6)
  const latest = new Map();
  for (const event of today) {
    if (!event.technician_id) continue;
    const shown = latest.get(event.technician_id);
    if (event.ok || !shown || !shown.ok) latest.set(event.technician_id, event);
  }
  const roster = (state.bundle && state.bundle.site_id === site && state.bundle.roster) || [];
  const rows = [];
  const seen = new Set();
  const line = (id, name, what, photo, event) => {
    let stateName = "none";
    let stateText = t("state_none");
    if (event) {
      const time = timeText(event.at * 1000);
      stateName = event.ok ? event.direction : "refused";
      stateText = event.ok ? t("state_" + event.direction, { time }) : t("state_refused", { time });
    }
    return el(
      "li",
      { "data-technician": id || "", "data-state": stateName, "data-uploaded": event ? String(Boolean(event.uploaded)) : null },
      photo ? el("img", { src: photo, alt: "" }) : el("img", { alt: "" }),
      el("span", { class: "who", text: name }),
      el("span", { class: "what", text: what }),
      el("span", { class: "state", text: stateText }),
    );
  };
  for (const person of roster) {
    seen.add(person.technician_id);
    const photo = isImageDataUrl(person.photo) ? person.photo : null;
    const what = [person.employer_name, person.role].filter(Boolean).join("・");
    rows.push(line(person.technician_id, person.name, what, photo, latest.get(person.technician_id)));
  }
  for (const [id, event] of latest) {
    if (!seen.has(id)) rows.push(line(id, event.name || id, t(state.bundle ? "not_on_roster" : "roster_unsynced"), null, event));
  }
  for (const event of today) if (!event.technician_id) rows.push(line("", t("unknown_person"), "", null, event));
  $("#today-list").replaceChildren(...rows);
}
