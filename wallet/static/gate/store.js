// @ts-check
/* 現場ゲート: what the page keeps — the synced bundles and the results of checks in IndexedDB, the settings
 * and the last confirmed operator in localStorage, and the page's state while it runs. */

import { $ } from "../common/dom.js";
import { FrameCollector } from "../common/offline.js";
import { database } from "../common/storage.js";

export const SETTINGS_KEY = "genba-gate-settings";
export const OPERATOR_KEY = "genba-gate-operator";
const DB_NAME = "genba-gate";

// -- IndexedDB: synced bundles and the results of checks --------------------------------------------

const dbRun = database(DB_NAME, (db) => {
  if (!db.objectStoreNames.contains("bundles")) db.createObjectStore("bundles", { keyPath: "key" });
  if (!db.objectStoreNames.contains("events")) db.createObjectStore("events", { keyPath: "event_key" });
});

export const store = {
  bundle: (key) => dbRun("bundles", "readonly", (s) => s.get(key)),
  bundles: async () => (await dbRun("bundles", "readonly", (s) => s.getAll())) || [],
  putBundle: (record) => dbRun("bundles", "readwrite", (s) => s.put(record)),
  events: async () => ((await dbRun("events", "readonly", (s) => s.getAll())) || []).sort((a, b) => a.at - b.at),
  event: (key) => dbRun("events", "readonly", (s) => s.get(key)),
  putEvent: (record) => dbRun("events", "readwrite", (s) => s.put(record)),
  deleteEvent: (key) => dbRun("events", "readwrite", (s) => s.delete(key)),
  clear: (name) => dbRun(name, "readwrite", (s) => s.clear()),
};

// -- state ------------------------------------------------------------------------------------------------

export const state = {
  operator: null,
  loginNeeded: false,
  pendingOwner: null, // signed out with an unsent queue: whose it is
  bundle: null, // the synced bundle of the chosen site and gate
  syncedAt: 0,
  mode: null, // "online" | "offline" while checking
  request: null, // online: { id, link, created }
  challenge: null, // offline: the current GC1 challenge
  collector: new FrameCollector(),
  scanner: null,
  pollTimer: null,
  renewTimer: null,
  busy: false,
  // The tablet faces the worker: its front camera reads the phone held up to it ("user"); the
  // other camera is one tap away.
  facingMode: "user",
};

export function settings() {
  const form = $("#setup-form");
  return {
    site: $("#site").value,
    gate: ($("#gate-id").value || "main").trim().slice(0, 40) || "main",
    kind: form.elements.work_kind.value || "general",
    direction: form.elements.direction.value === "out" ? "out" : "in",
    offline: $("#offline-toggle").checked,
  };
}

export function saveSettings() {
  try {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings()));
  } catch {
    // private mode: the settings last for this page only
  }
}

export function restoreSettings() {
  let saved;
  try {
    saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || "{}") || {};
  } catch {
    saved = {};
  }
  if (saved.gate) $("#gate-id").value = saved.gate;
  const form = $("#setup-form");
  for (const input of form.elements.work_kind) input.checked = input.value === (saved.kind || "general");
  for (const input of form.elements.direction) input.checked = input.value === (saved.direction || "in");
  $("#offline-toggle").checked = Boolean(saved.offline);
  return saved;
}

export const bundleKey = (site, gate) => `${site}|${gate}`;

export function storedOperator() {
  try {
    const stored = JSON.parse(localStorage.getItem(OPERATOR_KEY) || "null");
    return stored && typeof stored.username === "string" ? stored : null;
  } catch {
    return null;
  }
}


/** Who may send and see the queue now: the confirmed operator (never a stored one from another session). */
export function currentUser() {
  return state.operator && !state.loginNeeded ? state.operator.username : null;
}


export function readSavedSite() {
  try {
    return (JSON.parse(localStorage.getItem(SETTINGS_KEY) || "{}") || {}).site || "";
  } catch {
    return "";
  }
}
