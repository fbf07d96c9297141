// Shared by the Node tests: where the repository's files are, and Python's json.dumps in JavaScript (the
// SD-JWT cases spell disclosures the way Python's encoder writes them).
import { fileURLToPath } from "node:url";
import path from "node:path";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const STATIC = path.join(ROOT, "wallet/static");

/**
 * json.dumps(value, ensure_ascii=ascii, separators=(", ", ": ") or (",", ":") when compact).
 * @param {unknown} value
 * @param {{ ascii?: boolean, compact?: boolean }} [options]
 * @returns {string}
 */
export function pyDumps(value, { ascii = true, compact = false } = {}) {
  const [item, key] = compact ? [",", ":"] : [", ", ": "];
  const str = (s) => {
    const json = JSON.stringify(s);
    return ascii ? json.replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")) : json;
  };
  const walk = (v) => {
    if (Array.isArray(v)) return "[" + v.map(walk).join(item) + "]";
    if (v && typeof v === "object") return "{" + Object.entries(v).map(([k, x]) => str(k) + key + walk(x)).join(item) + "}";
    if (typeof v === "string") return str(v);
    return JSON.stringify(v);
  };
  return walk(value);
}
