/* 現場ゲート service worker (scope /gate/): keeps the gate page's own files so that, once it has been
 * used and synced, the page opens and checks with no network (the synced bundle and the queue of
 * results live in IndexedDB, not here).
 *
 * Only the page's own files are answered, network first (a new version is used as soon as the gate is
 * online) with the cached copy as the fallback. The gate's API (/gate/sync, /gate/requests,
 * /gate/events, /gate/operator) always goes to the network untouched. The caching itself is shared
 * with the wallet's worker (sw-core.js).
 */
"use strict";

importScripts("/gate/sw-core.js");

GenbaShell.serve({
  cache: "genba-gate-shell-v3",
  family: "genba-gate-",
  shell: [
    "/gate/app",
    // the page's modules (gate.js imports the others) and the modules it shares with the wallet
    "/gate/check.js",
    "/gate/gate.js",
    "/gate/operator.js",
    "/gate/page.js",
    "/gate/presentation.js",
    "/gate/queue.js",
    "/gate/result.js",
    "/gate/store.js",
    "/gate/sync.js",
    "/gate/text.js",
    "/gate/verify.js",
    ...GenbaShell.COMMON_MODULES,
    "/gate/gate.css",
    "/gate/manifest.webmanifest",
    "/gate/vendor/jsQR.js",
    "/gate/vendor/qrcode.js",
    "/wallet/icon.svg",
  ],
});
