#!/usr/bin/env bash
# workflow-mingw32-check.sh - the Windows workflow never runs an i686 tool
# straight out of /mingw32/bin from a MINGW64 shell: there PATH holds
# /mingw64/bin only, so the 32-bit cc1.exe/as.exe load 64-bit DLLs and fail
# with 0xC000007B (msys2/MINGW-packages#4718). A CC32/OBJDUMP32 of the form
# /mingw32/bin/... is allowed only in a job whose msystem is MINGW32.
#   bash native/test/win/lsp/workflow-mingw32-check.sh [workflow.yml]
set -euo pipefail
wf=${1:-$(dirname "${BASH_SOURCE[0]}")/../../../../.github/workflows/windows.yml}
msystem=$(sed -n 's/^ *msystem: *\([A-Z0-9]*\).*/\1/p' "$wf" | head -1)
bad=$(grep -nE '^ *(CC32|OBJDUMP32): */mingw32/bin/' "$wf" || true)
if [ -n "$bad" ] && [ "$msystem" != MINGW32 ]; then
    echo "workflow-mingw32-check: $wf runs i686 tools from /mingw32/bin in a $msystem shell (PATH lacks /mingw32/bin):"
    echo "$bad"
    exit 1
fi
echo "workflow-mingw32-check: ok ($msystem shell; i686 tools wrapped or none)"
