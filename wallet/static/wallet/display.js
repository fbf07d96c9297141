// @ts-check
/* 現場IDウォレット: a credential's words — type names, claim labels (type metadata, SD-JWT VC §6) and values. */

import { COURSES } from "../common/courses.js";
import { i18n, pickDisplay, t } from "./page.js";
import { CARD, CERTIFICATE } from "./store.js";
import { TEXT } from "./text.js";

export const KNOWN_PLACEHOLDER = "—";

function formatDate(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(text || ""));
  if (!match) return String(text ?? "");
  const [, y, m, d] = match;
  return i18n.lang === "ja" ? `${Number(y)}年${Number(m)}月${Number(d)}日` : `${y}-${m}-${d}`;
}

export function formatTime(ms) {
  return ms ? i18n.dateTime(ms) : t("never_checked");
}

function levelText(claims) {
  const colour = claims.level_colour && typeof claims.level_colour === "object" ? claims.level_colour[i18n.lang] : "";
  return t("level", { level: claims.level, colour: colour || "" }).replace(/（）|\(\)/, "").trim();
}

function insuranceText(value) {
  if (!value || typeof value !== "object") return KNOWN_PLACEHOLDER;
  const word = (v) => t("ins_" + (["enrolled", "exempt", "not_enrolled"].includes(v) ? v : "unknown"));
  return t("insurance", { health: word(value.health), pension: word(value.pension), employment: word(value.employment) });
}

/** A claim's value as text for the current language. */
export function claimText(name, value, claims) {
  if (value === null || value === undefined || value === "") return KNOWN_PLACEHOLDER;
  switch (name) {
    case "level":
      return levelText(claims);
    case "level_colour":
      return typeof value === "object" ? value[i18n.lang] || value.ja || KNOWN_PLACEHOLDER : String(value);
    case "occupations":
      return Array.isArray(value) ? value.join(i18n.lang === "ja" ? "、" : ", ") || KNOWN_PLACEHOLDER : String(value);
    case "employer":
      return typeof value === "object" ? `${value.name || ""}${value.employer_id ? `（${value.employer_id}）` : ""}` : String(value);
    case "social_insurance":
      return insuranceText(value);
    case "kentaikyo":
      return value ? t("yes") : t("no");
    case "face_photo":
      return t("photo");
    case "completed_on":
    case "holder_birth_date":
      return formatDate(value);
    case "course_code": {
      // the course's name from the catalogue (common/courses.json), not its code (issue 15, item 7)
      const names = COURSES[String(value)];
      return names ? names[i18n.lang === "en" ? 1 : 0] : String(value);
    }
    case "course_kind":
      return TEXT[i18n.lang]["kind_" + value] || String(value);
    default:
      if (typeof value === "object") return JSON.stringify(value);
      return String(value);
  }
}

/** Claim labels from the type metadata (SD-JWT VC §6), else the issuer metadata, else the name. */
export function claimLabel(record, name) {
  if (name === "course_code") return t("course"); // shown as the course's name (claimText), so not "講習コード"
  const sources = [(record.typeMetadata && record.typeMetadata.claims) || [], record.claimDisplay || []];
  for (const list of sources) {
    const entry = list.find((c) => Array.isArray(c.path) && c.path.length === 1 && c.path[0] === name);
    const display = entry && pickDisplay(entry.display);
    if (display && (display.label || display.name)) return display.label || display.name;
  }
  return name;
}

export function typeName(record) {
  const display =
    pickDisplay(record.typeMetadata && record.typeMetadata.display) || pickDisplay(record.configurationDisplay);
  return (display && display.name) || (record.typeMetadata && record.typeMetadata.name) || record.configurationId;
}

export function typeColours(record) {
  const display = pickDisplay(record.typeMetadata && record.typeMetadata.display);
  const simple = display && display.rendering && display.rendering.simple;
  if (simple) return { background: simple.background_color, text: simple.text_color };
  const fallback = pickDisplay(record.configurationDisplay);
  return fallback ? { background: fallback.background_color, text: fallback.text_color } : {};
}

export function shownStatus(record) {
  if (record.status === "revoked" || record.status === "suspended" || record.status === "unknown") return record.status;
  if (record.payload && record.payload.exp && record.payload.exp * 1000 <= Date.now()) return "expired";
  return "valid";
}

export function title(record) {
  const c = record.claims;
  if (record.configurationId === CARD) return c.name || typeName(record);
  if (record.configurationId === CERTIFICATE) return c.course_name || typeName(record);
  return typeName(record);
}
