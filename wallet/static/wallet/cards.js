// @ts-check
/* 現場IDウォレット: the credentials as cards (the CCUS card in its level colour), and deleting one. */

import { $, el, isImageDataUrl } from "../common/dom.js";
import { KNOWN_PLACEHOLDER, claimLabel, claimText, formatTime, shownStatus, title, typeColours, typeName } from "./display.js";
import { notify } from "./issuance.js";
import { i18n, report, showError, showMessage, t } from "./page.js";
import { CARD, CERTIFICATE, db } from "./store.js";

function dataList(rows) {
  return el("dl", { class: "data" }, rows.filter(([, value]) => value !== null).flatMap(([label, value, cls]) => [
    el("dt", { text: label }),
    el("dd", { class: cls || null, text: value }),
  ]));
}

function cardBody(record) {
  const c = record.claims;
  const line = (name) => [claimLabel(record, name), name in c ? claimText(name, c[name], c) : null, "claim-" + name];
  if (record.configurationId === CARD) {
    const photo =
      isImageDataUrl(c.face_photo)
        ? el("img", { class: "face", src: c.face_photo, alt: claimLabel(record, "face_photo") })
        : null;
    const employer = c.employer && typeof c.employer === "object" ? c.employer.name || KNOWN_PLACEHOLDER : t("no_employer");
    return el(
      "div",
      { class: "credential-body" },
      photo,
      el(
        "div",
        { class: "card-text" },
        el("p", { class: "headline claim-name", text: c.name || "" }),
        dataList([
          line("technician_id"),
          line("level"),
          line("occupations"),
          [claimLabel(record, "employer"), employer, "claim-employer"],
        ]),
      ),
    );
  }
  if (record.configurationId === CERTIFICATE) {
    return el(
      "div",
      { class: "credential-body" },
      el(
        "div",
        { class: "card-text" },
        el("p", { class: "headline claim-course_name", text: c.course_name || "" }),
        dataList([line("completed_on"), line("training_body"), line("course_kind"), line("certificate_number")]),
      ),
    );
  }
  return el(
    "div",
    { class: "credential-body" },
    dataList(Object.keys(c).map((name) => line(name))),
  );
}

/** Which claims a presentation could reveal: every disclosure the wallet holds, with its label. */
function fieldsView(record) {
  const items = Object.keys(record.claims).map((name) =>
    el(
      "li",
      { "data-claim": name },
      el("span", { class: "label", text: claimLabel(record, name) }),
      el("span", { class: "value", text: claimText(name, record.claims[name], record.claims) }),
    ),
  );
  const expiry = record.payload && record.payload.exp ? new Date(record.payload.exp * 1000) : null;
  return el(
    "details",
    { class: "fields" },
    el("summary", { text: t("fields_summary") }),
    el("ul", {}, items),
    expiry ? el("p", { class: "note expiry", text: `${t("expires")}: ${expiry.toLocaleDateString(i18n.locale())}` }) : null,
    el("p", { class: "note", text: t("fields_note") }),
  );
}

function cardFor(record) {
  const status = shownStatus(record);
  const article = el(
    "article",
    {
      class: "credential",
      "data-id": record.id,
      "data-vct": (record.payload && record.payload.vct) || "",
      "data-config": record.configurationId,
      "data-status": status,
      "data-level": record.configurationId === CARD && record.claims.level ? String(record.claims.level) : null,
      "aria-label": `${typeName(record)}: ${title(record)}`,
    },
    el(
      "header",
      { class: "credential-head" },
      el("span", { class: "type-name", text: typeName(record) }),
      el("span", { class: "status-label", text: t("status_" + status) }),
    ),
    cardBody(record),
    fieldsView(record),
    el("div", { class: "card-actions" }, el("button", { type: "button", class: "delete", text: t("delete") })),
  );
  if (record.configurationId !== CARD && record.configurationId !== CERTIFICATE) {
    const colours = typeColours(record);
    // CSSOM, not a style attribute: allowed under style-src 'self'.
    if (colours.background) article.style.setProperty("--card-bg", colours.background);
    if (colours.text) article.style.setProperty("--card-ink", colours.text);
  }
  article.querySelector(".delete").addEventListener("click", () => deleteCredential(record.id).catch(report));
  return article;
}

let renderSeq = 0;

export async function render() {
  const seq = ++renderSeq;
  const records = await db.all();
  if (seq !== renderSeq) return; // a later render is on its way
  const open = new Set([...document.querySelectorAll(".credential details[open]")].map((d) => d.closest("article").dataset.id));
  const cards = records.map(cardFor);
  for (const card of cards) if (open.has(card.dataset.id)) card.querySelector("details").open = true;
  $("#credentials").replaceChildren(...cards);
  $("#empty").hidden = records.length > 0;
  const checked = records.map((r) => r.statusCheckedAt || 0);
  const failed = records.some((r) => r.statusCheckFailed);
  const last = checked.length ? Math.min(...checked) : 0;
  $("#checked").textContent = records.length
    ? failed
      ? t("check_failed", { time: formatTime(last) })
      : t("checked_at", { time: formatTime(last) })
    : "";
}

// -- deleting ---------------------------------------------------------------------------------------------

async function deleteCredential(id) {
  const record = await db.get(id);
  if (!record) return;
  const name = title(record);
  if (!window.confirm(t("confirm_delete", { name }))) return;
  showError("");
  await db.remove(id); // local deletion first: it must happen even if the issuer cannot be told
  const card = document.querySelector(`.credential[data-id="${CSS.escape(id)}"]`);
  if (card) card.remove();
  $("#empty").hidden = document.querySelectorAll(".credential").length > 0;
  showMessage("");
  const outcome = await notify(record, "credential_deleted");
  if (outcome === "ok") showMessage(t("deleted", { name }));
  else if (outcome === "offline") showMessage(t("deleted_offline", { name }));
  else showMessage(t("deleted_not_notified", { name }));
  $("#message").dataset.outcome = outcome;
  await render();
}
