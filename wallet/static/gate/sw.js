/* 現場ゲート service worker (scope /gate/): keeps the gate page's own files so that, once it has been
 * used and synced, the page opens and checks with no network (the synced bundle and the queue of
 * results live in IndexedDB, not here).
 *
 * Only the page's own files are answered, network first (a new version is used as soon as the gate is
 * online) with the cached copy as the fallback. The gate's API (/gate/sync, /gate/requests,
 * /gate/events, /gate/operator) always goes to the network untouched.
 */
"use strict";

const CACHE = "genba-gate-shell-v1";
const SHELL = [
  "/gate/app",
  "/gate/gate.js",
  "/gate/verify.js",
  "/gate/shared.js",
  "/gate/gate.css",
  "/gate/manifest.webmanifest",
  "/gate/vendor/jsQR.js",
  "/gate/vendor/qrcode.js",
  "/wallet/icon.svg",
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
      .then((names) => Promise.all(names.filter((n) => n.startsWith("genba-gate-") && n !== CACHE).map((n) => caches.delete(n))))
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
