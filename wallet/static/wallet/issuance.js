// @ts-check
/* 現場IDウォレット: receiving credentials (OpenID4VCI 1.0): the token endpoint, one request per credential
 * identifier, each bound to a NEW non-extractable P-256 key made by WebCrypto (only its public half leaves
 * the browser, in the proof's jwk header), and the notification endpoint (§11). */

import { randomB64url } from "../common/base64url.js";
import { signEs256 } from "../common/jws.js";
import { decode } from "../common/sdjwt.js";
import { WalletError, errorBody, request, t, wellKnown } from "./page.js";

export async function tokenEndpoint(metadata, issuer) {
  const server = (metadata.authorization_servers && metadata.authorization_servers[0]) || issuer;
  for (const name of ["oauth-authorization-server", "openid-configuration"]) {
    try {
      const response = await request(wellKnown(server, name), { headers: { Accept: "application/json" } });
      if (response.ok) {
        const document = await response.json();
        if (document.token_endpoint) return document.token_endpoint;
      }
    } catch {
      // try the next one
    }
  }
  return `${server.replace(/\/$/, "")}/token`;
}


/** One credential request per credential identifier of the token's authorization_details (§6.2). */
export function requestsFor(token, offer) {
  const details = Array.isArray(token.authorization_details)
    ? token.authorization_details.filter((d) => d && d.type === "openid_credential")
    : [];
  if (details.length === 0) {
    return offer.credential_configuration_ids.map((configuration) => ({ configuration, identifier: null }));
  }
  const jobs = [];
  for (const detail of details) {
    const configuration = detail.credential_configuration_id;
    if (!Array.isArray(detail.credential_identifiers)) {
      jobs.push({ configuration, identifier: null });
      continue;
    }
    for (const identifier of detail.credential_identifiers) jobs.push({ configuration, identifier });
  }
  return jobs;
}

function publicJwk(jwk) {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/** Appendix F.1: a JWT proof signed by the new key, its public half in the jwk header. */

/** Appendix F.1: a JWT proof signed by the new key, its public half in the jwk header. */
async function proofJwt(keyPair, jwk, issuer, nonce) {
  const claims = { aud: issuer, iat: Math.floor(Date.now() / 1000) };
  if (nonce) claims.nonce = nonce;
  // WebCrypto ECDSA signatures are r || s (64 bytes for P-256): exactly the JWS ES256 form.
  return signEs256(keyPair.privateKey, { typ: "openid4vci-proof+jwt", alg: "ES256", jwk }, claims);
}

async function freshNonce(metadata) {
  if (!metadata.nonce_endpoint) return null;
  const response = await request(metadata.nonce_endpoint, { method: "POST" });
  if (!response.ok) throw new WalletError(t("err_credential", { error: "nonce " + response.status }), "nonce");
  const body = await response.json();
  return body.c_nonce;
}

async function loadTypeMetadata(vct, cache) {
  if (cache.has(vct)) return cache.get(vct);
  let value = null;
  try {
    const url = new URL(vct);
    if (url.origin === location.origin) {
      const response = await request(url.href, { headers: { Accept: "application/json" } });
      if (response.ok) value = await response.json();
    }
  } catch {
    value = null;
  }
  cache.set(vct, value);
  return value;
}

/**
 * One credential request (OpenID4VCI 1.0 §8) with a fresh key, retried once on invalid_nonce, and the
 * records to keep; one function because the key, the proof and the response belong together.
 */
export async function receiveOne({ job, metadata, issuer, access, typeMetadata }) {
  if (!crypto.subtle) throw new WalletError(t("err_crypto"), "crypto");
  // A new key for every credential: two credentials cannot be linked through their cnf key.
  const keyPair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const jwk = publicJwk(await crypto.subtle.exportKey("jwk", keyPair.publicKey));
  let nonce = await freshNonce(metadata);
  let response;
  for (let attempt = 0; attempt < 2; attempt++) {
    const body = job.identifier ? { credential_identifier: job.identifier } : { credential_configuration_id: job.configuration };
    body.proofs = { jwt: [await proofJwt(keyPair, jwk, issuer, nonce)] };
    response = await request(metadata.credential_endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        Authorization: `${access.tokenType === "DPoP" ? "DPoP" : "Bearer"} ${access.accessToken}`,
      },
      body: JSON.stringify(body),
    });
    if (response.ok) break;
    const problem = await errorBody(response);
    if (problem.error === "invalid_nonce" && attempt === 0) {
      nonce = problem.c_nonce || (await freshNonce(metadata));
      continue;
    }
    throw new WalletError(t("err_credential", { error: problem.error || response.status }), problem.error || "credential");
  }
  const result = await response.json();
  const items = Array.isArray(result.credentials) ? result.credentials : [];
  if (items.length === 0) throw new WalletError(t("err_credential", { error: "empty" }), "credential");
  const records = [];
  for (const item of items) {
    const sdJwt = item.credential;
    const decoded = await decode(sdJwt);
    const cnf = decoded.payload.cnf && decoded.payload.cnf.jwk;
    if (!cnf || cnf.x !== jwk.x || cnf.y !== jwk.y) throw new WalletError(t("err_credential", { error: "cnf" }), "cnf");
    const configuration = metadata.credential_configurations_supported?.[job.configuration] || {};
    records.push({
      id: crypto.randomUUID ? crypto.randomUUID() : randomB64url(16),
      issuer,
      configurationId: job.configuration,
      credentialIdentifier: job.identifier,
      format: configuration.format || "dc+sd-jwt",
      sdJwt,
      claims: decoded.claims,
      payload: decoded.payload,
      privateKey: keyPair.privateKey, // a non-extractable CryptoKey: IndexedDB keeps it, nobody can export it
      publicJwk: jwk,
      notificationId: result.notification_id || null,
      notificationEndpoint: metadata.notification_endpoint || null,
      ...access,
      typeMetadata: await loadTypeMetadata(decoded.payload.vct, typeMetadata),
      configurationDisplay: (configuration.credential_metadata || {}).display || configuration.display || null,
      claimDisplay: (configuration.credential_metadata || {}).claims || configuration.claims || null,
      status: "valid",
      statusCheckedAt: Date.now(),
      statusCheckFailed: false,
      receivedAt: Date.now() + records.length / 1000,
    });
  }
  return records;
}

/** §11: tell the issuer; true when it answered 2xx. Needs the access token issued with the credential. */
export async function notify(record, event) {
  if (!record.notificationEndpoint || !record.notificationId || !record.accessToken) return "no_token";
  if (record.accessTokenExpiresAt && record.accessTokenExpiresAt <= Date.now()) return "expired";
  let response;
  try {
    response = await fetch(record.notificationEndpoint, {
      method: "POST",
      credentials: "omit",
      cache: "no-store",
      headers: {
        "Content-Type": "application/json",
        Authorization: `${record.tokenType === "DPoP" ? "DPoP" : "Bearer"} ${record.accessToken}`,
      },
      body: JSON.stringify({ notification_id: record.notificationId, event }),
    });
  } catch {
    return "offline";
  }
  if (response.ok) return "ok";
  return response.status === 401 ? "expired" : "failed";
}
