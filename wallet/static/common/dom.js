// @ts-check
/* Genba ID: the pages' DOM helpers — building nodes, notice boxes, data-URL photos, the service worker.
 * Nothing runs at import. */

/**
 * @param {string} selector
 * @param {ParentNode} [root]
 * @returns {any} the element (typed loosely: the pages know what their ids are)
 */
export const $ = (selector, root = document) => root.querySelector(selector);

/**
 * A new element: attributes (`class`, `text` for its text, null/undefined/false left out), then children.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...unknown} children
 * @returns {any}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = String(value);
    else if (name === "text") node.textContent = String(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * Puts `text` in a notice box and shows it; no text hides the box.
 * @param {HTMLElement} box
 * @param {string | null | undefined} text
 * @returns {HTMLElement}
 */
export function showText(box, text) {
  box.textContent = text || "";
  box.hidden = !text;
  return box;
}

/**
 * A photo the page may show: a PNG or JPEG data URL (never a link that would fetch something).
 * @param {unknown} value
 * @returns {value is string}
 */
export function isImageDataUrl(value) {
  return typeof value === "string" && /^data:image\/(png|jpeg);base64,/.test(value);
}

/**
 * The page's service worker (sw-core.js caches its files), where the browser has them.
 * @param {string} url
 * @param {string} scope
 */
export function registerWorker(url, scope) {
  if ("serviceWorker" in navigator) navigator.serviceWorker.register(url, { scope }).catch(() => {});
}
