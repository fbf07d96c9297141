// @ts-check
/* 現場ゲート: who is signed in (GET /gate/operator) and which sites' gates they run, by name (issue 15,
 * item 6); a shared tablet (issue 12, item 10) keeps nothing of a previous staff member, an unsent queue
 * only for its recorder. */

import { $, el } from "../common/dom.js";
import { t } from "./page.js";
import { upload } from "./queue.js";
import { OPERATOR_KEY, SETTINGS_KEY, readSavedSite, state, store, storedOperator } from "./store.js";

export function renderNet() {
  const box = $("#net-state");
  box.dataset.online = String(navigator.onLine);
  box.textContent = navigator.onLine ? t("online") : t("offline");
}

/**
 * Nothing of a previous staff member stays on a shared tablet: the synced bundles (rosters with face
 * photos), the operator details and settings, and the results already sent. Results not yet sent are
 * kept only when `keepPendingOf` (the staff member who recorded them) may still sign in and send them.
 */
async function forgetPreviousStaff(keepPendingOf) {
  await store.clear("bundles").catch(() => {});
  for (const event of await store.events().catch(() => [])) {
    if (!(keepPendingOf && !event.uploaded && event.recorded_by === keepPendingOf)) {
      await store.deleteEvent(event.event_key).catch(() => {});
    }
  }
  try {
    localStorage.removeItem(SETTINGS_KEY);
    if (keepPendingOf) localStorage.setItem(OPERATOR_KEY, JSON.stringify({ username: keepPendingOf, sites: [] }));
    else localStorage.removeItem(OPERATOR_KEY);
  } catch {
    // storage unavailable: nothing was kept there either
  }
  state.bundle = null;
  state.syncedAt = 0;
}

export async function loadOperator() {
  let response;
  try {
    response = await fetch("/gate/operator", { credentials: "same-origin", cache: "no-store" });
  } catch {
    response = null;
  }
  const previous = storedOperator();
  if (response && response.ok) {
    const current = await response.json();
    // Someone else signed in on this tablet: the previous staff member's data goes, queue included
    // (it is theirs to send; the server would refuse it from this session anyway).
    if (previous && previous.username !== current.username) await forgetPreviousStaff(null);
    for (const event of await store.events().catch(() => [])) {
      // queued before results carried their presentation and recorder: the server cannot verify them
      if (!event.uploaded && !event.recorded_by) await store.deleteEvent(event.event_key).catch(() => {});
    }
    state.operator = current;
    state.loginNeeded = false;
    try {
      localStorage.setItem(OPERATOR_KEY, JSON.stringify(state.operator));
    } catch {
      // not kept
    }
  } else if (response && response.status === 401) {
    // Signed out, or the session ended: keep only the unsent queue, for its own recorder.
    state.loginNeeded = true;
    state.operator = null;
    state.pendingOwner = previous ? previous.username : null;
    await forgetPreviousStaff(state.pendingOwner);
  } else {
    // No network: the operator last confirmed keeps the gate working offline.
    state.operator = previous;
  }
  $("#signin").hidden = !state.loginNeeded;
  $("#signout").hidden = state.loginNeeded || !state.operator;
  renderOperator();
}

/** The staff member's name (issue 15, item 6: not the login `<事業者ID>-<login>`), the login only as a tooltip. */
export function renderOperator() {
  const box = $("#operator");
  const who = state.operator && !state.loginNeeded ? state.operator : null;
  box.textContent = who ? who.display_name || (state.bundle && state.bundle.synced_by) || who.username : "";
  box.title = who ? who.username : "";
}

/** What people call a site: its name from the operator details or a synced bundle, else its id. */
export function siteName(siteId) {
  const names = (state.operator && state.operator.site_names) || {};
  const named = names[siteId] && names[siteId].name;
  return named || siteNames.get(siteId) || siteId;
}

/** 「ログアウト」: send what can be sent, delete everything of this staff member here, then sign out. */
export async function signOut() {
  await upload().catch(() => {});
  const pending = (await store.events().catch(() => [])).filter((e) => !e.uploaded).length;
  if (pending && !window.confirm(t("signout_pending", { count: pending }))) return;
  await forgetPreviousStaff(null);
  window.location.assign("/logout");
}


let knownSites = [];
/** site id -> name, from the synced bundles (offline, the operator details may be old) */
const siteNames = new Map();

export async function collectSites() {
  const sites = new Set(state.operator && Array.isArray(state.operator.sites) ? state.operator.sites : []);
  for (const record of await store.bundles()) {
    sites.add(record.bundle.site_id);
    if (record.bundle.site_name) siteNames.set(record.bundle.site_id, record.bundle.site_name);
  }
  knownSites = [...sites].sort();
}

export function renderSites() {
  const select = $("#site");
  const current = select.value || readSavedSite();
  select.replaceChildren(
    ...(knownSites.length ? knownSites.map((s) => el("option", { value: s, text: siteName(s) })) : [el("option", { value: "", text: t("no_site") })]),
  );
  if (knownSites.includes(current)) select.value = current;
  renderSiteName();
}

/** The header names the chosen site (its 現場ID only as a tooltip). */
export function renderSiteName() {
  const site = $("#site").value;
  const box = $("#site-name");
  box.textContent = site ? siteName(site) : "";
  box.title = site || "";
}
