// The browser modules as files: each under 400 lines, every named import exported by the module it names,
// each page's service worker caching every module its page loads (or the offline gate and wallet break),
// the shared modules free of DOM access at import, and the vendored QR libraries byte for byte the npm
// packages pinned in this directory's lock file (wallet/static/vendor/README.md).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

import { ROOT, STATIC } from "./support.mjs";

const FOLDERS = ["common", "wallet", "gate"];
const MODULES = FOLDERS.flatMap((folder) =>
  readdirSync(path.join(STATIC, folder))
    .filter((name) => name.endsWith(".js") && name !== "sw.js")
    .map((name) => path.join(STATIC, folder, name)),
);
const read = (file) => readFileSync(file, "utf8");
const IMPORT = /^import \{([^}]*)\} from "([^"]+)";$/gm;

function exported(file) {
  const text = read(file);
  const names = new Set();
  for (const m of text.matchAll(/^export (?:async )?(?:function|const|let|class) ([\w$]+)/gm)) names.add(m[1]);
  for (const m of text.matchAll(/^export const \{([^}]*)\}/gm)) for (const n of m[1].split(",")) names.add(n.trim());
  return names;
}

/** The module files `entry` loads, itself included, following its static imports. */
function graph(entry, seen = new Set()) {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  for (const [, , target] of read(entry).matchAll(IMPORT)) graph(path.resolve(path.dirname(entry), target), seen);
  return seen;
}

/** The URL paths a service worker's GenbaShell.serve keeps: its own list and, where it spreads
 * GenbaShell.COMMON_MODULES, the shared modules listed once in sw-core.js. */
const paths = (file) => [...read(file).matchAll(/^\s*"(\/[^"]*)",$/gm)].map((m) => m[1]);
const shell = (worker) => [
  ...paths(worker),
  ...(read(worker).includes("...GenbaShell.COMMON_MODULES") ? paths(path.join(STATIC, "sw-core.js")) : []),
];
/** Static root: wallet/static/<folder>/x.js is served at /<folder>/x.js, the wallet's own at /wallet/x.js. */
const url = (file) => "/" + path.relative(STATIC, file).split(path.sep).join("/");

test("every module is under 400 lines (issue 13 item 5)", () => {
  for (const file of MODULES) {
    const lines = read(file).split("\n").length;
    assert.ok(lines <= 400, `${url(file)} has ${lines} lines`);
  }
});

test("every named import is exported by the module it names (ES modules fail to link otherwise)", () => {
  for (const file of MODULES) {
    for (const [, names, target] of read(file).matchAll(IMPORT)) {
      const source = path.resolve(path.dirname(file), target);
      const available = exported(source);
      for (const name of names.split(",").map((n) => n.trim())) {
        assert.ok(available.has(name), `${url(file)} imports ${name} from ${target}, which does not export it`);
      }
    }
  }
});

for (const [page, entry, worker] of [
  ["wallet", "wallet/app.js", "sw.js"],
  ["gate", "gate/gate.js", "gate/sw.js"],
]) {
  test(`the ${page} page's service worker caches every module the page loads`, () => {
    const cached = new Set(shell(path.join(STATIC, worker)));
    const html = read(path.join(STATIC, page === "wallet" ? "app.html" : "gate/index.html"));
    const scripts = [...html.matchAll(/<script [^>]*src="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(scripts.includes(`/${entry}`), `${page} page loads ${scripts}`);
    for (const src of scripts) assert.ok(cached.has(src), `${worker} does not cache ${src}`);
    for (const file of graph(path.join(STATIC, entry))) assert.ok(cached.has(url(file)), `${worker} does not cache ${url(file)}`);
  });
}

test("the shared modules import without a document (no DOM work at import)", async () => {
  assert.equal(typeof globalThis.document, "undefined");
  for (const file of readdirSync(path.join(STATIC, "common"))) {
    await import(pathToFileURL(path.join(STATIC, "common", file)).href);
  }
});

test("the vendored QR libraries are the pinned npm packages' browser builds, as the README lists them", () => {
  const readme = read(path.join(STATIC, "vendor/README.md"));
  for (const [file, pkg, inside] of [
    ["jsQR.js", "jsqr", "dist/jsQR.js"],
    ["qrcode.js", "qrcode-generator", "dist/qrcode.js"],
  ]) {
    const vendored = readFileSync(path.join(STATIC, "vendor", file));
    const installed = readFileSync(path.join(ROOT, "tests/js/node_modules", pkg, inside));
    assert.ok(vendored.equals(installed), `wallet/static/vendor/${file} differs from ${pkg}'s ${inside}`);
    const version = JSON.parse(read(path.join(ROOT, "tests/js/node_modules", pkg, "package.json"))).version;
    const row = readme.split("\n").find((line) => line.startsWith(`| \`${file}\``)) || "";
    assert.ok(row.includes(`| \`${pkg}\` | ${version} |`), `README row for ${file}: ${row}`);
    assert.ok(row.includes(createHash("sha256").update(vendored).digest("hex")), `README sha256 for ${file}`);
  }
});
