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
  cache: "genba-wallet-shell-v4",
  family: "genba-wallet-",
  shell: [
    "/wallet/app",
    // the page's modules (app.js imports the others) and the modules it shares with the gate page
    "/wallet/app.js",
    "/wallet/cards.js",
    "/wallet/display.js",
    "/wallet/issuance.js",
    "/wallet/offer.js",
    "/wallet/page.js",
    "/wallet/present.js",
    "/wallet/request.js",
    "/wallet/status.js",
    "/wallet/store.js",
    "/wallet/text.js",
    ...GenbaShell.COMMON_MODULES,
    "/wallet/vendor/qrcode.js",
    "/wallet/vendor/jsQR.js",
    "/wallet/wallet.css",
    "/wallet/manifest.webmanifest",
    "/wallet/icon.svg",
    "/wallet/icon-maskable.svg",
  ],
});
