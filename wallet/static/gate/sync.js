// @ts-check
/* 現場ゲート: 「同期」 — /gate/sync (pinned root, issuer keys, status lists, requirements, today's roster
 * with photos) into IndexedDB, and how fresh the synced bundle of the chosen site and gate is. */

import { $ } from "../common/dom.js";
import { splitJws } from "../common/jws.js";
import { collectSites, renderOperator, renderSites } from "./operator.js";
import { GateError, i18n, showError, showMessage, t } from "./page.js";
import { renderToday } from "./queue.js";
import { bundleKey, settings, state, store } from "./store.js";

const STATUS_GRACE_S = 12 * 3600;

export async function loadBundle() {
  const { site, gate } = settings();
  const record = site ? await store.bundle(bundleKey(site, gate)) : null;
  state.bundle = record ? record.bundle : null;
  state.syncedAt = record ? record.syncedAt : 0;
  renderOperator();
  renderSyncState();
  await renderToday();
}

/** The oldest moment at which one of the synced status lists goes stale (iat + ttl + grace), in ms. */
function staleAt(bundle) {
  let earliest = Infinity;
  for (const token of Object.values(bundle.status_lists || {})) {
    try {
      const claims = splitJws(token).payload;
      const limit = (Number(claims.iat) + Number(claims.ttl || 0) + STATUS_GRACE_S) * 1000;
      earliest = Math.min(earliest, Number.isInteger(claims.exp) ? Math.min(limit, claims.exp * 1000) : limit);
    } catch {
      earliest = 0;
    }
  }
  return earliest;
}

export function renderSyncState() {
  const box = $("#sync-state");
  const bundle = state.bundle;
  if (!bundle) {
    box.dataset.state = "missing";
    box.textContent = t("sync_missing");
    box.removeAttribute("data-synced-at");
    return;
  }
  box.dataset.syncedAt = String(state.syncedAt);
  if (staleAt(bundle) < Date.now()) {
    box.dataset.state = "stale";
    box.textContent = t("sync_stale", { time: i18n.dateTime(state.syncedAt) });
    return;
  }
  box.dataset.state = "ok";
  box.textContent = t("sync_state", {
    time: i18n.dateTime(state.syncedAt),
    count: (bundle.roster || []).length,
    lists: Object.keys(bundle.status_lists || {}).length,
  });
}

export async function sync() {
  const { site, gate } = settings();
  if (!site) throw new GateError(t("err_forbidden"), "no_site");
  showError("");
  showMessage(t("syncing"));
  let response;
  try {
    response = await fetch(`/gate/sync?site_id=${encodeURIComponent(site)}&gate_id=${encodeURIComponent(gate)}`, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
  } catch {
    showMessage("");
    throw new GateError(t("err_network"), "network");
  }
  if (response.status === 401 || response.status === 403) {
    showMessage("");
    state.loginNeeded = true;
    $("#signin").hidden = false;
    throw new GateError(t("err_forbidden"), "forbidden");
  }
  if (!response.ok) {
    showMessage("");
    throw new GateError(t("err_request", { error: response.status }), "sync");
  }
  const bundle = await response.json();
  const syncedAt = Date.now();
  try {
    await store.putBundle({ key: bundleKey(site, gate), bundle, syncedAt });
  } catch {
    throw new GateError(t("err_storage"), "storage");
  }
  await collectSites();
  renderSites();
  await loadBundle();
  showMessage(t("synced", { count: (bundle.roster || []).length }));
}
