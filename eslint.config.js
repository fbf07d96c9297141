// ESLint (flat config) for the browser code under wallet/static and the Node tests in tests/js; `make lint`
// runs it (tests/js/node_modules/.bin/eslint). ESLint and its rule sets are pinned in tests/js's lock file,
// so they are imported from there.
import { createRequire } from "node:module";

const require = createRequire(new URL("./tests/js/package.json", import.meta.url));
const { default: js } = await import(require.resolve("@eslint/js"));
const { default: globals } = await import(require.resolve("globals"));

export default [
  {
    ignores: ["wallet/static/vendor/**", "**/node_modules/**", ".venv/**"],
  },
  {
    files: ["wallet/static/common/**/*.js", "wallet/static/wallet/**/*.js", "wallet/static/gate/**/*.js"],
    ignores: ["wallet/static/gate/sw.js"],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser } },
    rules: {
      ...js.configs.recommended.rules,
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none", ignoreRestSiblings: true }],
      eqeqeq: "error",
      "no-var": "error",
      "prefer-const": "error",
      // no module reaches the page's globals: the vendored QR libraries are read through common/qr.js only
      "no-restricted-globals": ["error", "Genba", "GenbaVerify", "jsQR", "qrcode"],
      "max-lines": ["error", { max: 400 }],
    },
  },
  {
    files: ["wallet/static/sw.js", "wallet/static/sw-core.js", "wallet/static/gate/sw.js"],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2022, sourceType: "script", globals: { ...globals.serviceworker, GenbaShell: "readonly" } },
  },
  {
    files: ["tests/js/**/*.mjs", "tests/js/**/*.js"],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
  },
];
