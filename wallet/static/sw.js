/* 現場IDウォレット service worker: keeps the app shell so the wallet opens without a network.
 *
 * Only the shell's own files are answered here, network first (so a new version is used as soon
 * as it is online) with the cached copy as the fallback. Every other request — the issuer's
 * endpoints, status lists, the account pages under /wallet/ — goes to the network untouched.
 * The caching itself is shared with the gate page's worker (sw-core.js).
 */
"use strict";

importScripts("/wallet/sw-core.js");

GenbaShell.serve({
  cache: "genba-wallet-shell-v3",
  family: "genba-wallet-",
  shell: [
    "/wallet/app",
    "/wallet/app.js",
    "/wallet/shared.js",
    "/wallet/vendor/qrcode.js",
    "/wallet/vendor/jsQR.js",
    "/wallet/wallet.css",
    "/wallet/manifest.webmanifest",
    "/wallet/icon.svg",
    "/wallet/icon-maskable.svg",
  ],
});
