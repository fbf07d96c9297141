/* 現場IDウォレット service worker: keeps the app shell so the wallet opens without a network.
 *
 * Only the shell's own files are answered here, network first (so a new version is used as soon
 * as it is online) with the cached copy as the fallback. Every other request — the issuer's
 * endpoints, status lists, the account pages under /wallet/ — goes to the network untouched.
 */
"use strict";

const CACHE = "genba-wallet-shell-v2";
const SHELL = [
  "/wallet/app",
  "/wallet/app.js",
  "/wallet/shared.js",
  "/wallet/vendor/qrcode.js",
  "/wallet/vendor/jsQR.js",
  "/wallet/wallet.css",
  "/wallet/manifest.webmanifest",
  "/wallet/icon.svg",
  "/wallet/icon-maskable.svg",
];
const NETWORK_TIMEOUT_MS = 6000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "no-cache" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("genba-wallet-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (error) => { clearTimeout(timer); reject(error); },
    );
  });
}

async function networkFirst(request, path) {
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(request, { cache: "no-cache" }), NETWORK_TIMEOUT_MS);
    if (response.ok) {
      await cache.put(path, response.clone());
      return response;
    }
    const cached = await cache.match(path);
    return cached || response;
  } catch (error) {
    const cached = await cache.match(path);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !SHELL.includes(url.pathname)) return;
  event.respondWith(networkFirst(request, url.pathname));
});
