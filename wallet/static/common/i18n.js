// @ts-check
/* Genba ID: the pages' language, Japanese first with an English switch. Touches the document and
 * localStorage only when called, never at import. */

/**
 * @typedef {Record<string, Record<string, string>>} Texts { ja: { key: "…{name}…" }, en: { … } }
 * @typedef {object} Language
 * @property {"ja" | "en"} lang
 * @property {(key: string, values?: Record<string, unknown>) => string} t
 * @property {() => string} locale
 * @property {(ms: number) => string} dateTime
 * @property {() => void} apply
 * @property {(onChange: (lang: string) => void) => void} bindSwitch
 */

/**
 * English only when chosen on this device before (kept in localStorage under `storageKey`); a key missing
 * in English falls back to Japanese. The page has a switch button #lang and [data-i18n] elements.
 * @param {Texts} text
 * @param {string} storageKey
 * @returns {Language}
 */
export function language(text, storageKey) {
  /** @type {"ja" | "en"} */
  let lang;
  try {
    lang = localStorage.getItem(storageKey) === "en" ? "en" : "ja";
  } catch {
    lang = "ja";
  }

  /**
   * @param {string} key
   * @param {Record<string, unknown>} [values]
   */
  function t(key, values = {}) {
    const template = text[lang][key] ?? text.ja[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
  }

  const locale = () => (lang === "en" ? "en-US" : "ja-JP");

  /** <html lang>, every [data-i18n] element, the switch (named in the other language) and the title. */
  function apply() {
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-i18n]")) {
      node.textContent = t(/** @type {HTMLElement} */ (node).dataset.i18n || "");
    }
    const switcher = /** @type {HTMLElement} */ (document.querySelector("#lang"));
    switcher.textContent = t("lang_switch");
    switcher.lang = lang === "ja" ? "en" : "ja";
    document.title = t("app_name");
  }

  /**
   * The switch toggles ja ⇄ en, keeps the choice where it can, then calls `onChange`.
   * @param {(lang: string) => void} onChange
   */
  function bindSwitch(onChange) {
    /** @type {HTMLElement} */ (document.querySelector("#lang")).addEventListener("click", () => {
      lang = lang === "ja" ? "en" : "ja";
      try {
        localStorage.setItem(storageKey, lang);
      } catch {
        // private mode: the choice lasts for this page only
      }
      onChange(lang);
    });
  }

  return Object.freeze({
    get lang() {
      return lang;
    },
    t,
    locale,
    dateTime: (/** @type {number} */ ms) => new Date(ms).toLocaleString(locale(), { dateStyle: "short", timeStyle: "short" }),
    apply,
    bindSwitch,
  });
}
