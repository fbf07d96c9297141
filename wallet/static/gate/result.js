// @ts-check
/* 現場ゲート: the result screen — the verdict, the person as the synced roster knows them, the reasons. */

import { $, el, isImageDataUrl } from "../common/dom.js";
import { stopChecking } from "./check.js";
import { i18n, t } from "./page.js";
import { renderToday } from "./queue.js";
import { state } from "./store.js";

// -- the result screen --------------------------------------------------------------------------------------

function rosterEntry(technicianId) {
  const roster = (state.bundle && state.bundle.roster) || [];
  return technicianId ? roster.find((r) => r.technician_id === String(technicianId)) || null : null;
}

export function showResult(result, direction) {
  stopChecking();
  const box = $("#result");
  const ok = Boolean(result.ok);
  box.dataset.ok = String(ok);
  box.dataset.technician = result.technician_id || "";
  $("#result-verdict").textContent = t((ok ? "ok_" : "ng_") + direction);
  const person = rosterEntry(result.technician_id);
  $("#result-name").textContent = result.name || (person && person.name) || t("unknown_person");
  const photo = $("#result-photo");
  if (person && isImageDataUrl(person.photo)) {
    photo.src = person.photo;
    photo.alt = person.name;
    photo.hidden = false;
  } else {
    photo.removeAttribute("src");
    photo.hidden = true;
  }
  const level = $("#result-level");
  const colour = result.level_colour && typeof result.level_colour === "object" ? result.level_colour[i18n.lang] || result.level_colour.ja : "";
  if (result.level) {
    level.dataset.level = String(result.level);
    level.textContent = t("level", { level: result.level, colour });
    level.hidden = false;
  } else {
    level.removeAttribute("data-level");
    level.hidden = true;
  }
  $("#result-employer").textContent = person ? [person.employer_name, person.role].filter(Boolean).join("・") : "";
  const note = $("#result-roster");
  note.hidden = !(result.technician_id && !person);
  // Without a synced roster the tablet cannot say who is on it: it says it is not synced (issue 15, item 6).
  note.dataset.reason = state.bundle ? "not_on_roster" : "unsynced";
  note.textContent = t(state.bundle ? "not_on_roster" : "roster_unsynced");
  $("#result-reasons").replaceChildren(
    ...(result.reasons || []).map((r) => el("li", { "data-code": r.code || "" }, i18n.lang === "en" ? r.en || r.ja : r.ja || r.en)),
  );
  $("#check").hidden = true;
  $("#setup").hidden = true;
  box.hidden = false;
  $("#next").focus();
  renderToday().catch(() => {});
}
