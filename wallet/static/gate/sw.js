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
  cache: "genba-gate-shell-v2",
  family: "genba-gate-",
  shell: [
    "/gate/app",
    "/gate/gate.js",
    "/gate/verify.js",
    "/gate/shared.js",
    "/gate/gate.css",
    "/gate/manifest.webmanifest",
    "/gate/vendor/jsQR.js",
    "/gate/vendor/qrcode.js",
    "/wallet/icon.svg",
  ],
});
