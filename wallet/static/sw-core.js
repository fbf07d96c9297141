/* Genba ID: the service-worker logic the wallet (/wallet/sw.js) and the gate page (/gate/sw.js) share,
 * loaded by each with importScripts (served as /wallet/sw-core.js and /gate/sw-core.js, no-cache, so a
 * changed copy is picked up by the browser's update check like the worker itself).
 *
 * GenbaShell.COMMON_MODULES lists the modules of wallet/static/common/ that both pages load; each worker
 * adds them to its shell. GenbaShell.serve({ cache, family, shell }) keeps the page's own files (`shell`, URL paths) in the
 * cache named `cache`: installed with the worker, older caches of the same `family` (name prefix)
 * deleted on activation. Only those files are answered here, network first (a new version is used as
 * soon as the device is online) with the cached copy as the fallback; every other request goes to the
 * network untouched.
 */
"use strict";

(function (global) {
  const NETWORK_TIMEOUT_MS = 6000;

  function withTimeout(promise, ms) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timeout")), ms);
      promise.then(
        (value) => { clearTimeout(timer); resolve(value); },
        (error) => { clearTimeout(timer); reject(error); },
      );
    });
  }

  async function networkFirst(cacheName, request, path) {
    const cache = await caches.open(cacheName);
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

  /** Adds the install, activate and fetch handlers; call it while the worker script is first run. */
  function serve({ cache, family, shell }) {
    if (!cache.startsWith(family)) throw new Error(`cache ${cache} is not of the family ${family}`);

    global.addEventListener("install", (event) => {
      event.waitUntil(
        caches
          .open(cache)
          .then((store) => store.addAll(shell.map((path) => new Request(path, { cache: "no-cache" }))))
          .then(() => global.skipWaiting()),
      );
    });

    global.addEventListener("activate", (event) => {
      event.waitUntil(
        caches
          .keys()
          .then((names) => Promise.all(names.filter((n) => n.startsWith(family) && n !== cache).map((n) => caches.delete(n))))
          .then(() => global.clients.claim()),
      );
    });

    global.addEventListener("fetch", (event) => {
      const request = event.request;
      if (request.method !== "GET") return;
      const url = new URL(request.url);
      if (url.origin !== global.location.origin || !shell.includes(url.pathname)) return;
      event.respondWith(networkFirst(cache, request, url.pathname));
    });
  }

  /** The shared ES modules (wallet/static/common/) both pages load: one list for both workers. */
  const COMMON_MODULES = Object.freeze([
    "/common/base64url.js",
    "/common/courses.js",
    "/common/dcql.js",
    "/common/deflate.js",
    "/common/dom.js",
    "/common/errors.js",
    "/common/i18n.js",
    "/common/jws.js",
    "/common/offline.js",
    "/common/qr.js",
    "/common/sdjwt.js",
    "/common/statuslist.js",
    "/common/storage.js",
    "/common/x509.js",
  ]);

  global.GenbaShell = Object.freeze({ serve, COMMON_MODULES });
})(self);
