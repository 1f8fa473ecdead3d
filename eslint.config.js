// ESLint (flat config) with typescript-eslint: the recommended rules, plus the type-aware rules
// that catch real bugs (a promise nobody awaits or catches, a promise handed to a callback
// whose return value is ignored, awaiting a non-promise, throwing a non-Error, a switch that
// misses a case, an object stringified as "[object Object]"). `npm run lint` runs the
// typecheck and then this; `npm test` runs lint first.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/", "filter/build/", "test/fixtures/build/", "bench/build/", "bench/results/",
      // AssemblyScript: decorated functions (@inline, @external) are not TypeScript syntax, so
      // the parser rejects them, and its types (i32, usize) are not tsc's. Compiled by asc.
      "filter/assembly/", "test/fixtures/assembly/", "bench/fixtures/*.ts",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
    languageOptions: {
      globals: { console: "readonly", process: "readonly", URL: "readonly", setTimeout: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises that the runner itself awaits.
      "@typescript-eslint/no-floating-promises": ["error", {
        allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "it", "describe", "suite", "before", "after", "beforeEach", "afterEach"] }],
      }],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/only-throw-error": "error",
      "@typescript-eslint/prefer-promise-reject-errors": "error",
      "@typescript-eslint/no-for-in-array": "error",
      "@typescript-eslint/no-implied-eval": "error",
      "@typescript-eslint/restrict-plus-operands": "error",
      "@typescript-eslint/no-base-to-string": "error",
      "@typescript-eslint/no-duplicate-type-constituents": "error",
      "@typescript-eslint/no-redundant-type-constituents": "error",
      // A `default` says the other cases are handled on purpose.
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
    },
  },
  {
    // The web page's modules run in the browser.
    files: ["aggregator/ui/**/*.js"],
    languageOptions: {
      globals: Object.fromEntries(["document", "window", "location", "history", "fetch", "URLSearchParams", "AbortSignal",
        "DOMException", "CSS", "HTMLElement", "HTMLSelectElement", "HTMLTableElement", "clearTimeout"].map((g) => [g, "readonly"])),
    },
  },
  {
    // Tests read untyped documents (rendered manifests, API responses as JSON) and assert on
    // their shape: there `any` is what is under test, and a wrong guess fails the assertion.
    files: ["**/*.test.ts", "aggregator/test/**", "wasmplugin/test/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
