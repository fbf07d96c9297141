// @ts-check
/* 現場IDウォレット: the page's language, notices and errors, and its HTTP requests (no cookies, no cache:
 * the wallet talks to issuers and verifiers as a client of its own). */

import { $, showText } from "../common/dom.js";
import { UserError } from "../common/errors.js";
import { language } from "../common/i18n.js";
import { TEXT } from "./text.js";

const LANG_KEY = "genba-wallet-lang";

export const i18n = language(TEXT, LANG_KEY);
export const { t } = i18n;

/** The entry of a display array for the current language (locale "ja-JP"/"ja", "en-US"/"en"), else the first. */
export function pickDisplay(list) {
  if (!Array.isArray(list) || list.length === 0) return null;
  const want = i18n.lang;
  return (
    list.find((d) => typeof d.locale === "string" && d.locale.toLowerCase().split("-")[0] === want) ||
    list.find((d) => !d.locale) ||
    list[0]
  );
}

export function showError(text) {
  const box = showText($("#error"), text);
  if (text) box.scrollIntoView({ block: "nearest" });
}

export const showMessage = (text) => showText($("#message"), text);
export const showProgress = (text) => showText($("#progress"), text);

export class WalletError extends UserError {}

export function report(error) {
  showProgress("");
  showError(error instanceof WalletError ? error.message : `${t("err_credential", { error: error && error.message })}`);
}


// -- HTTP -------------------------------------------------------------------------------------------------

export async function request(url, options = {}) {
  try {
    return await fetch(url, { credentials: "omit", cache: "no-store", ...options });
  } catch {
    throw new WalletError(t("err_network"), "network");
  }
}

export async function getJson(url, errorText) {
  const response = await request(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new WalletError(errorText, "http_" + response.status);
  return response.json();
}

export async function errorBody(response) {
  try {
    const body = await response.json();
    return body && typeof body === "object" ? body : {};
  } catch {
    return {};
  }
}

/** OpenID4VCI §12.2.2 / RFC 8414 §3: the well-known document of an issuer, path after the well-known part. */
export function wellKnown(identifier, name) {
  const url = new URL(identifier);
  const path = url.pathname.replace(/\/$/, "");
  return `${url.origin}/.well-known/${name}${path}`;
}
