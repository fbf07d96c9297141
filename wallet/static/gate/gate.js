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
"use strict";

(function () {
  const G = window.Genba;
  const V = window.GenbaVerify;
  const LANG_KEY = "genba-gate-lang";
  const SETTINGS_KEY = "genba-gate-settings";
  const OPERATOR_KEY = "genba-gate-operator";
  const DB_NAME = "genba-gate";
  const POLL_MS = 1000;
  const REQUEST_LIFETIME_MS = 5 * 60 * 1000;
  const CHALLENGE_RENEW_MS = 4 * 60 * 1000;
  const STATUS_GRACE_S = 12 * 3600;
  const UPLOAD_BATCH = 50; // each event carries its presentation (a few kB); the server takes 200 at most
  const RETRY_MS = 60 * 1000;

  const TEXT = {
    ja: {
      app_name: "現場ゲート",
      lang_switch: "English",
      online: "オンライン",
      offline: "オフライン",
      signin_needed: "元請の担当者としてログインしてください。",
      signin: "ログイン",
      setup_title: "ゲートの設定",
      site: "現場",
      no_site: "（担当の現場がありません）",
      gate_name: "ゲート名",
      work_kind: "作業の種類",
      kind_general: "一般作業",
      kind_crane: "クレーン作業",
      kind_height: "高所作業",
      direction: "入場・退場",
      dir_in: "入場",
      dir_out: "退場",
      offline_toggle: "オフラインで確認する（通信しない）",
      sync: "同期",
      syncing: "同期しています…",
      synced: "同期しました（名簿 {count}人）。",
      sync_state: "同期: {time}（名簿 {count}人・失効情報 {lists}件）",
      sync_missing: "まだ同期していません。オフラインで確認するには同期が必要です。",
      sync_stale: "同期データが古くなっています（{time}）。同期してください。",
      start: "確認を始める",
      check_title: "{direction} — {kind}",
      mode_online: "オンライン確認（{site} / {gate}）",
      mode_offline: "オフライン確認（{site} / {gate}）",
      online_hint: "作業員のスマートフォンで、このQRコードを読み取ってもらってください。",
      offline_hint_1: "① このQRコードをウォレットで読み取ってもらいます",
      offline_hint_2: "② ウォレットに出たQRコードをカメラに向けてもらいます",
      scanning: "カメラで読み取り中…",
      frames: "読み取り中 {seen}/{total}",
      verifying: "確認しています…",
      stop: "設定に戻る",
      switch_camera: "カメラを切り替える",
      next: "次の人",
      ok_in: "入場OK",
      ok_out: "退場OK",
      ng_in: "入場できません",
      ng_out: "退場を確認できません",
      unknown_person: "（本人を確認できません）",
      level: "レベル{level}（{colour}）",
      not_on_roster: "本日の作業員名簿にありません",
      today_title: "本日の入退場",
      queue_pending: "未送信 {count}件（通信が戻ると送信します）",
      queue_login: "未送信 {count}件（送信にはログインが必要です）",
      queue_owner: "未送信 {count}件（記録した {user} さんのログインで送信します）",
      signout: "ログアウト",
      signout_pending: "未送信の記録が {count}件あります。ログアウトするとこの端末から削除され、送信されません。ログアウトしますか？",
      queue_done: "記録はすべて送信済みです",
      state_in: "入場 {time}",
      state_out: "退場 {time}",
      state_none: "未入場",
      state_refused: "確認できず {time}",
      fell_offline: "通信できないため、オフラインで確認します。",
      err_network: "通信できませんでした。",
      err_forbidden: "この現場のゲートを操作する権限がありません。元請の担当者としてログインしてください。",
      err_no_bundle: "オフラインで確認するには、先にこの現場・ゲートを同期してください。",
      err_camera: "カメラを使えません（{error}）。カメラの使用を許可してください。",
      err_request: "確認を始められませんでした（{error}）。",
      err_storage: "この端末に保存できませんでした。",
      request_expired: "QRコードの有効期限が切れたため、新しいQRコードを表示しました。",
    },
    en: {
      app_name: "Site gate",
      lang_switch: "日本語",
      online: "Online",
      offline: "Offline",
      signin_needed: "Sign in as staff of the prime contractor.",
      signin: "Sign in",
      setup_title: "Gate set-up",
      site: "Site",
      no_site: "(no sites)",
      gate_name: "Gate name",
      work_kind: "Kind of work",
      kind_general: "General work",
      kind_crane: "Crane work",
      kind_height: "Work at height",
      direction: "Entry or exit",
      dir_in: "Entry",
      dir_out: "Exit",
      offline_toggle: "Check offline (no network)",
      sync: "Sync",
      syncing: "Syncing…",
      synced: "Synced (roster: {count}).",
      sync_state: "Synced {time} (roster: {count}, status lists: {lists})",
      sync_missing: "Not synced yet. Offline checks need a sync.",
      sync_stale: "The synced data is old ({time}). Please sync.",
      start: "Start checking",
      check_title: "{direction} — {kind}",
      mode_online: "Online check ({site} / {gate})",
      mode_offline: "Offline check ({site} / {gate})",
      online_hint: "Ask the worker to scan this QR code with their phone.",
      offline_hint_1: "1. The worker scans this QR code with the wallet",
      offline_hint_2: "2. The worker shows the wallet's QR code to the camera",
      scanning: "Reading from the camera…",
      frames: "Reading {seen}/{total}",
      verifying: "Checking…",
      stop: "Back to set-up",
      switch_camera: "Switch camera",
      next: "Next person",
      ok_in: "Entry OK",
      ok_out: "Exit OK",
      ng_in: "Entry refused",
      ng_out: "Exit not confirmed",
      unknown_person: "(not identified)",
      level: "Level {level} ({colour})",
      not_on_roster: "Not on today's roster",
      today_title: "Today at this site",
      queue_pending: "{count} not sent yet (sent when the network returns)",
      queue_login: "{count} not sent yet (sign in to send)",
      queue_owner: "{count} not sent yet (sent when {user}, who recorded them, signs in)",
      signout: "Sign out",
      signout_pending: "{count} records have not been sent. Signing out deletes them from this device unsent. Sign out?",
      queue_done: "All records sent",
      state_in: "In {time}",
      state_out: "Out {time}",
      state_none: "Not in",
      state_refused: "Refused {time}",
      fell_offline: "No connection: checking offline.",
      err_network: "No connection.",
      err_forbidden: "You may not run this site's gate. Sign in as staff of the prime contractor.",
      err_no_bundle: "Sync this site and gate before checking offline.",
      err_camera: "The camera cannot be used ({error}). Please allow the camera.",
      err_request: "Could not start the check ({error}).",
      err_storage: "Could not save on this device.",
      request_expired: "The QR code expired; a new one is shown.",
    },
  };

  // The page helpers shared with the wallet (shared.js).
  const { $, el } = G;
  const i18n = G.language(TEXT, LANG_KEY);
  const { t } = i18n;
  const showError = (text) => G.showText($("#error"), text);
  const showMessage = (text) => G.showText($("#message"), text);

  class GateError extends G.UserError {}

  function timeText(ms) {
    return new Date(ms).toLocaleTimeString(i18n.locale(), { hour: "2-digit", minute: "2-digit" });
  }

  // -- IndexedDB: synced bundles and the results of checks --------------------------------------------

  const dbRun = G.database(DB_NAME, (db) => {
    if (!db.objectStoreNames.contains("bundles")) db.createObjectStore("bundles", { keyPath: "key" });
    if (!db.objectStoreNames.contains("events")) db.createObjectStore("events", { keyPath: "event_key" });
  });

  const store = {
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

  const state = {
    operator: null,
    loginNeeded: false,
    pendingOwner: null, // signed out with an unsent queue: whose it is
    bundle: null, // the synced bundle of the chosen site and gate
    syncedAt: 0,
    mode: null, // "online" | "offline" while checking
    request: null, // online: { id, link, created }
    challenge: null, // offline: the current GC1 challenge
    collector: new G.FrameCollector(),
    scanner: null,
    pollTimer: null,
    renewTimer: null,
    busy: false,
    // The tablet faces the worker: its front camera reads the phone held up to it ("user"); the
    // other camera is one tap away.
    facingMode: "user",
  };

  function settings() {
    const form = $("#setup-form");
    return {
      site: $("#site").value,
      gate: ($("#gate-id").value || "main").trim().slice(0, 40) || "main",
      kind: form.elements.work_kind.value || "general",
      direction: form.elements.direction.value === "out" ? "out" : "in",
      offline: $("#offline-toggle").checked,
    };
  }

  function saveSettings() {
    try {
      localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings()));
    } catch {
      // private mode: the settings last for this page only
    }
  }

  function restoreSettings() {
    let saved = {};
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

  const bundleKey = (site, gate) => `${site}|${gate}`;

  // -- language and the network indicator -------------------------------------------------------------------

  function applyLanguage() {
    i18n.apply();
    renderNet();
    renderSites();
    renderSyncState();
    renderToday().catch(() => {});
  }

  function renderNet() {
    const box = $("#net-state");
    box.dataset.online = String(navigator.onLine);
    box.textContent = navigator.onLine ? t("online") : t("offline");
  }

  // -- who is signed in, and which sites --------------------------------------------------------------------

  function storedOperator() {
    try {
      const stored = JSON.parse(localStorage.getItem(OPERATOR_KEY) || "null");
      return stored && typeof stored.username === "string" ? stored : null;
    } catch {
      return null;
    }
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

  async function loadOperator() {
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
    $("#operator").textContent = state.operator && !state.loginNeeded ? state.operator.username : "";
  }

  /** 「ログアウト」: send what can be sent, delete everything of this staff member here, then sign out. */
  async function signOut() {
    await upload().catch(() => {});
    const pending = (await store.events().catch(() => [])).filter((e) => !e.uploaded).length;
    if (pending && !window.confirm(t("signout_pending", { count: pending }))) return;
    await forgetPreviousStaff(null);
    window.location.assign("/logout");
  }

  /** Who may send and see the queue now: the confirmed operator (never a stored one from another session). */
  function currentUser() {
    return state.operator && !state.loginNeeded ? state.operator.username : null;
  }

  let knownSites = [];

  async function collectSites() {
    const sites = new Set(state.operator && Array.isArray(state.operator.sites) ? state.operator.sites : []);
    for (const record of await store.bundles()) sites.add(record.bundle.site_id);
    knownSites = [...sites].sort();
  }

  function renderSites() {
    const select = $("#site");
    const current = select.value || readSavedSite();
    select.replaceChildren(
      ...(knownSites.length ? knownSites.map((s) => el("option", { value: s, text: s })) : [el("option", { value: "", text: t("no_site") })]),
    );
    if (knownSites.includes(current)) select.value = current;
  }

  function readSavedSite() {
    try {
      return (JSON.parse(localStorage.getItem(SETTINGS_KEY) || "{}") || {}).site || "";
    } catch {
      return "";
    }
  }

  // -- sync ---------------------------------------------------------------------------------------------------

  async function loadBundle() {
    const { site, gate } = settings();
    const record = site ? await store.bundle(bundleKey(site, gate)) : null;
    state.bundle = record ? record.bundle : null;
    state.syncedAt = record ? record.syncedAt : 0;
    renderSyncState();
    await renderToday();
  }

  /** The oldest moment at which one of the synced status lists goes stale (iat + ttl + grace), in ms. */
  function staleAt(bundle) {
    let earliest = Infinity;
    for (const token of Object.values(bundle.status_lists || {})) {
      try {
        const claims = G.splitJws(token).payload;
        const limit = (Number(claims.iat) + Number(claims.ttl || 0) + STATUS_GRACE_S) * 1000;
        earliest = Math.min(earliest, Number.isInteger(claims.exp) ? Math.min(limit, claims.exp * 1000) : limit);
      } catch {
        earliest = 0;
      }
    }
    return earliest;
  }

  function renderSyncState() {
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

  async function sync() {
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

  // -- checking: shared ------------------------------------------------------------------------------------------

  function kindLabel(kind) {
    return t("kind_" + G.knownWorkKind(kind));
  }

  function showCheck(mode) {
    const s = settings();
    state.mode = mode;
    $("#setup").hidden = true;
    $("#result").hidden = true;
    $("#check").hidden = false;
    $("#check").dataset.mode = mode;
    $("#check-title").textContent = t("check_title", { direction: t("dir_" + s.direction), kind: kindLabel(s.kind) });
    $("#check-mode").textContent = t(mode === "online" ? "mode_online" : "mode_offline", { site: s.site, gate: s.gate });
    $("#online").hidden = mode !== "online";
    $("#offline").hidden = mode !== "offline";
  }

  function stopChecking() {
    clearTimeout(state.pollTimer);
    clearTimeout(state.renewTimer);
    state.pollTimer = state.renewTimer = null;
    state.request = null;
    state.challenge = null;
    state.collector.reset();
    if (state.scanner) state.scanner.stop();
    state.scanner = null;
  }

  function backToSetup() {
    stopChecking();
    state.mode = null;
    $("#check").hidden = true;
    $("#result").hidden = true;
    $("#setup").hidden = false;
  }

  async function startCheck() {
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

  /** POST JSON to the gate's API with the operator's session (rejects when there is no network). */
  function postJson(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
  }

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

  async function switchToOffline() {
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
      nonce: G.randomB64url(16), // 128 bits, new for every person
      time: Math.floor(Date.now() / 1000),
      audience: bundle.audience,
      direction: s.direction,
    };
    state.collector.reset();
    const canvas = $("#challenge-qr");
    G.drawQr(canvas, G.encodeChallenge(state.challenge), { size: 560, level: "M" });
    canvas.dataset.issuedAt = String(state.challenge.time);
    $("#scan-progress").textContent = t("scanning");
    // A challenge lives 5 minutes: show a new one before then while nobody is being read.
    state.renewTimer = setTimeout(function renew() {
      if (state.mode !== "offline" || !state.challenge) return;
      if (state.collector.seen === 0) newChallenge();
      else state.renewTimer = setTimeout(renew, 30 * 1000);
    }, CHALLENGE_RENEW_MS);
  }

  async function startCamera() {
    if (state.scanner) state.scanner.stop();
    state.scanner = new G.Scanner($("#camera"), onScanned, { facingMode: state.facingMode });
    try {
      await state.scanner.start();
    } catch (error) {
      showError(t("err_camera", { error: error.message }));
    }
  }

  function onScanned(text) {
    if (state.mode !== "offline" || !state.challenge || state.busy) return;
    if (!G.isPresentationFrame(text)) return;
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
      const result = await V.verifyOffline(frames, challenge, state.bundle, { direction: challenge.direction });
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
        challenge: G.encodeChallenge(challenge),
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

  // -- the result screen --------------------------------------------------------------------------------------

  function rosterEntry(technicianId) {
    const roster = (state.bundle && state.bundle.roster) || [];
    return technicianId ? roster.find((r) => r.technician_id === String(technicianId)) || null : null;
  }

  function showResult(result, direction) {
    stopChecking();
    const box = $("#result");
    const ok = Boolean(result.ok);
    box.dataset.ok = String(ok);
    box.dataset.technician = result.technician_id || "";
    $("#result-verdict").textContent = t((ok ? "ok_" : "ng_") + direction);
    const person = rosterEntry(result.technician_id);
    $("#result-name").textContent = result.name || (person && person.name) || t("unknown_person");
    const photo = $("#result-photo");
    if (person && G.isImageDataUrl(person.photo)) {
      photo.src = person.photo;
      photo.alt = person.name;
      photo.hidden = false;
    } else {
      photo.removeAttribute("src");
      photo.hidden = true;
    }
    const level = $("#result-level");
    const colour = result.level_colour && typeof result.level_colour === "object" ? result.level_colour[i18n.lang] || result.level_colour.ja : "";
    if (result.level) {
      level.dataset.level = String(result.level);
      level.textContent = t("level", { level: result.level, colour });
      level.hidden = false;
    } else {
      level.removeAttribute("data-level");
      level.hidden = true;
    }
    $("#result-employer").textContent = person ? [person.employer_name, person.role].filter(Boolean).join("・") : "";
    const note = $("#result-roster");
    note.hidden = !(result.technician_id && !person);
    note.textContent = t("not_on_roster");
    $("#result-reasons").replaceChildren(
      ...(result.reasons || []).map((r) => el("li", { "data-code": r.code || "" }, i18n.lang === "en" ? r.en || r.ja : r.ja || r.en)),
    );
    $("#check").hidden = true;
    $("#setup").hidden = true;
    box.hidden = false;
    $("#next").focus();
    renderToday().catch(() => {});
  }

  // -- the upload queue -------------------------------------------------------------------------------------------

  let uploading = null;
  let uploadNeedsLogin = false;

  function upload() {
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

  function renderToday() {
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
    const latest = new Map(); // technician -> latest event of today
    for (const event of today) if (event.technician_id) latest.set(event.technician_id, event);
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
      const photo = G.isImageDataUrl(person.photo) ? person.photo : null;
      const what = [person.employer_name, person.role].filter(Boolean).join("・");
      rows.push(line(person.technician_id, person.name, what, photo, latest.get(person.technician_id)));
    }
    for (const [id, event] of latest) {
      if (!seen.has(id)) rows.push(line(id, event.name || id, t("not_on_roster"), null, event));
    }
    for (const event of today) if (!event.technician_id) rows.push(line("", t("unknown_person"), "", null, event));
    $("#today-list").replaceChildren(...rows);
  }

  // -- start --------------------------------------------------------------------------------------------------------

  function report(error) {
    showMessage("");
    showError(error instanceof GateError ? error.message : t("err_request", { error: error && error.message }));
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
    G.registerWorker("/gate/sw.js", "/gate/");
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
})();
