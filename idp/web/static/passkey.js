// WebAuthn passkey sign-in and registration for Genba ID pages.
// Converts between the JSON options the server sends (base64url) and the
// ArrayBuffers navigator.credentials wants (WebAuthn L3 §5.1.3, §5.1.4).
(function () {
  "use strict";
  // The token is bound to the browser session: a response that starts a new session sends a new one.
  let csrf = document.querySelector('meta[name="csrf-token"]').content;
  const b64uToBuf = (s) => {
    const pad = "=".repeat((4 - (s.length % 4)) % 4);
    const bin = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  };
  const bufToB64u = (buf) => {
    const bytes = new Uint8Array(buf);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const post = async (url, body) => {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? "{}" : JSON.stringify(body),
    });
    csrf = response.headers.get("X-CSRF-Token") || csrf;
    return response;
  };
  const showError = (button, message) => {
    const el = document.getElementById("passkey-error");
    el.textContent = message || button.dataset.error;
    el.hidden = false;
  };
  const credentialToJSON = (cred) => {
    const r = cred.response;
    const out = { id: cred.id, rawId: bufToB64u(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      authenticatorAttachment: cred.authenticatorAttachment || null, response: {} };
    out.response.clientDataJSON = bufToB64u(r.clientDataJSON);
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64u(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = bufToB64u(r.authenticatorData);
      out.response.signature = bufToB64u(r.signature);
      out.response.userHandle = r.userHandle ? bufToB64u(r.userHandle) : null;
    }
    return out;
  };

  const signin = document.getElementById("passkey-signin");
  if (signin) signin.addEventListener("click", async () => {
    try {
      const next = encodeURIComponent(signin.dataset.next || "/account");
      const opts = await (await post("/login/passkey/options?next=" + next)).json();
      opts.challenge = b64uToBuf(opts.challenge);
      (opts.allowCredentials || []).forEach((c) => { c.id = b64uToBuf(c.id); });
      const cred = await navigator.credentials.get({ publicKey: opts });
      const res = await post("/login/passkey/verify", credentialToJSON(cred));
      const body = await res.json();
      if (res.ok && body.redirect) { window.location.assign(body.redirect); return; }
      showError(signin, body.message);
    } catch (e) { showError(signin); }
  });

  const register = document.getElementById("passkey-register");
  if (register) register.addEventListener("click", async () => {
    try {
      const res0 = await post("/account/passkeys/options");
      const opts = await res0.json();
      if (!res0.ok) { if (opts.redirect) window.location.assign(opts.redirect); else showError(register, opts.message); return; }
      opts.challenge = b64uToBuf(opts.challenge);
      opts.user.id = b64uToBuf(opts.user.id);
      (opts.excludeCredentials || []).forEach((c) => { c.id = b64uToBuf(c.id); });
      const cred = await navigator.credentials.create({ publicKey: opts });
      const payload = credentialToJSON(cred);
      payload.label = navigator.platform ? "passkey (" + navigator.platform + ")" : "passkey";
      const res = await post("/account/passkeys/verify", payload);
      const body = await res.json();
      if (res.ok && body.redirect) { window.location.assign(body.redirect); return; }
      showError(register, body.message);
    } catch (e) { showError(register); }
  });
})();
