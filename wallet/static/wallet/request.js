// @ts-check
/* 現場IDウォレット: what a gate asks — an OpenID4VP 1.0 request object (signed, by reference) or the offline
 * profile's GC1 challenge (docs/offline-gate.md) — and which held credential answers each query. */

import { bytesFromBase64 } from "../common/base64url.js";
import { defaultDcql, revealedClaims, satisfies } from "../common/dcql.js";
import { splitJws, verifyJws } from "../common/jws.js";
import { CHALLENGE, decodeChallenge } from "../common/offline.js";
import { importSpki, parseCertificate } from "../common/x509.js";
import { shownStatus } from "./display.js";
import { WalletError, request, t } from "./page.js";
import { CARD } from "./store.js";

const VP_SCHEMES = ["openid4vp:", "haip:", "eudi-openid4vp:"];
export const NEVER_SENT = new Set(["face_photo"]); // the gate has the photo from the site roster

/** Loopback hosts may use http (development and tests); everything else must be https. */
function secureUrl(url) {
  return url.protocol === "https:" || (url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname));
}

/** A pasted or scanned gate QR code: { challenge } for GC1:, { link } for an OpenID4VP request. */
export function parsePresentInput(text) {
  const value = String(text || "").trim();
  if (!value) throw new WalletError(t("err_vp_link"), "link");
  if (value.startsWith(CHALLENGE)) {
    try {
      return { challenge: decodeChallenge(value) };
    } catch {
      throw new WalletError(t("err_vp_link"), "link");
    }
  }
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new WalletError(t("err_vp_link"), "link");
  }
  if (!VP_SCHEMES.includes(url.protocol) && !url.searchParams.get("request_uri")) throw new WalletError(t("err_vp_link"), "link");
  return { link: url };
}

/**
 * OpenID4VP 1.0 §5.10 request by reference with a signed request object (§5.7): the x509_san_dns client
 * id names the request_uri's host, the x5c leaf certificate names that host in a DNS SAN and signs the
 * request object, whose client_id, response_mode (direct_post) and response_uri (same host) are checked.
 */
export async function loadVpRequest(link) {
  const clientId = link.searchParams.get("client_id") || "";
  const requestUri = link.searchParams.get("request_uri") || "";
  let target;
  try {
    target = new URL(requestUri);
  } catch {
    throw new WalletError(t("err_vp_link"), "link");
  }
  const fail = (why) => new WalletError(t("err_vp_request", { error: why }), "request_object");
  if (!secureUrl(target)) throw fail("request_uri");
  if (clientId !== `x509_san_dns:${target.hostname}`) throw fail("client_id");
  const response = await request(target.href, { headers: { Accept: "application/oauth-authz-req+jwt" } });
  if (response.status === 400 || response.status === 404) throw new WalletError(t("err_vp_expired"), "expired");
  if (!response.ok) throw fail(`HTTP ${response.status}`);
  const token = (await response.text()).trim();
  let jws;
  try {
    jws = splitJws(token);
  } catch {
    throw fail("request object");
  }
  if (jws.header.typ !== "oauth-authz-req+jwt" || !Array.isArray(jws.header.x5c) || !jws.header.x5c.length) throw fail("typ / x5c");
  let certificate;
  try {
    certificate = parseCertificate(bytesFromBase64(jws.header.x5c[0], false));
  } catch {
    throw fail("x5c");
  }
  const now = Date.now();
  if (!certificate.dnsNames.includes(target.hostname) || now < certificate.notBefore || now > certificate.notAfter) {
    throw fail("x5c " + target.hostname);
  }
  const verified = await verifyJws(token, await importSpki(certificate.spki)).catch(() => null);
  if (!verified) throw fail("signature");
  const claims = verified.payload || {};
  let responseUri;
  try {
    responseUri = new URL(claims.response_uri);
  } catch {
    throw fail("response_uri");
  }
  if (claims.client_id !== clientId) throw fail("client_id");
  if (claims.response_type !== "vp_token" || claims.response_mode !== "direct_post") throw fail("response_mode");
  if (responseUri.hostname !== target.hostname || !secureUrl(responseUri)) throw fail("response_uri");
  if (typeof claims.nonce !== "string" || !claims.nonce) throw fail("nonce");
  if (Number.isInteger(claims.exp) && claims.exp * 1000 < now) throw new WalletError(t("err_vp_expired"), "expired");
  const dcql = claims.dcql_query;
  if (!dcql || !Array.isArray(dcql.credentials) || dcql.credentials.length === 0) throw fail("dcql_query");
  // §5.1 client_metadata: client_name (RFC 7591 §2) is the prime contractor, genba_site_name the site
  // (wallet/gate/vp.py client_metadata) — who the technician presents to, in words (issue 15, item 7)
  const metadata = claims.client_metadata && typeof claims.client_metadata === "object" ? claims.client_metadata : {};
  const text = (/** @type {unknown} */ value) => (typeof value === "string" ? value.trim().slice(0, 200) : "");
  return {
    mode: "online",
    host: target.hostname,
    siteName: text(metadata.genba_site_name),
    primeName: text(metadata.client_name),
    dcql,
    aud: clientId, // OpenID4VP 1.0 §B.3.6: the KB-JWT aud is the full client_id
    nonce: claims.nonce,
    state: typeof claims.state === "string" ? claims.state : null,
    responseUri: responseUri.href,
  };
}

/** The offline challenge carries only the kind of work: the requirement is the site default for it. */
export function offlineRequest(challenge, records) {
  const card = records.find((r) => r.configurationId === CARD) || records[0];
  const issuer = (card && card.payload && card.payload.iss) || (card && card.issuer) || location.origin;
  return {
    mode: "offline",
    challenge,
    siteName: challenge.site_name || "",
    primeName: challenge.prime_name || "",
    dcql: defaultDcql(issuer, challenge.work_kind),
    aud: challenge.audience,
    nonce: challenge.nonce,
  };
}

const STATUS_RANK = { valid: 0, unknown: 1, expired: 2, suspended: 3, revoked: 4 };

/** For each credential query: the held credential that answers it (valid ones first, newest first). */
export function matchCredentials(dcql, records) {
  return dcql.credentials.map((query) => {
    const candidates = records
      .filter((r) => (r.format || "dc+sd-jwt") === (query.format || "dc+sd-jwt"))
      .filter((r) => satisfies(query, r.payload && r.payload.vct, { ...r.payload, ...r.claims }) === null)
      .sort((a, b) => STATUS_RANK[shownStatus(a)] - STATUS_RANK[shownStatus(b)] || b.receivedAt - a.receivedAt);
    const record = candidates[0] || null;
    const reveal = revealedClaims(query).filter((name) => !NEVER_SENT.has(name));
    return { query, record, reveal };
  });
}
