// @ts-check
/* 現場ゲート: the page's language, notices and errors (the words are text.js). */

import { $, showText } from "../common/dom.js";
import { UserError } from "../common/errors.js";
import { language } from "../common/i18n.js";
import { TEXT } from "./text.js";

const LANG_KEY = "genba-gate-lang";

export const i18n = language(TEXT, LANG_KEY);
export const { t } = i18n;
export const showError = (text) => showText($("#error"), text);
export const showMessage = (text) => showText($("#message"), text);

export class GateError extends UserError {}

export function timeText(ms) {
  return new Date(ms).toLocaleTimeString(i18n.locale(), { hour: "2-digit", minute: "2-digit" });
}

export function report(error) {
  showMessage("");
  showError(error instanceof GateError ? error.message : t("err_request", { error: error && error.message }));
}
