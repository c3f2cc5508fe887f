#!/usr/bin/env bash
# lsp-build.sh - builds the wsdx LSP Wine harness and the catalog installer
# with mingw-w64 (x86_64; i686 compile/link only), runs the harness under Wine
# and the installer's `list` (Wine's catalog is fake: it must only not crash).
# Exits non-zero on any failure. Installs mingw-w64/wine when missing (apt).
#
#   bash native/win/lsp-build.sh            Linux: build + run under Wine
#   bash native/win/lsp-build.sh --native   Windows (MSYS2/Git Bash): build, run the
#                                           harness natively; no apt, no Wine
# Compilers can be overridden: CC64=... CC32=... (CC32= empty skips i686).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."   # native/
NATIVE=$PWD
OUT=$NATIVE/target/win-lsp
NATIVE_RUN=0
[ "${1:-}" = "--native" ] && NATIVE_RUN=1
mkdir -p "$OUT/x64" "$OUT/x86"
CC64=${CC64:-x86_64-w64-mingw32-gcc}
CC32=${CC32-i686-w64-mingw32-gcc}
OBJDUMP64=${OBJDUMP64:-${CC64%gcc}objdump}
OBJDUMP32=${OBJDUMP32:-${CC32%gcc}objdump}

if [ "$NATIVE_RUN" = 0 ]; then
    need=()
    command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
    command -v i686-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-i686)
    command -v wine >/dev/null || need+=(wine wine64)
    if ((${#need[@]})); then
        echo "installing: ${need[*]}"
        SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
        $SUDO apt-get update -q
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
    fi
fi

exports_of() { # DLL OBJDUMP -> exported names, one a line
    "$2" -p "$1" | awk '/\[Ordinal\/Name Pointer\] Table/{f=1;next} f&&/\[/{print $NF} f&&!/\[/{f=0}'
}

bash test/win/lsp/workflow-mingw32-check.sh ../.github/workflows/windows.yml

W=(-Wall -Wextra -Werror -O2 -std=c11)
INC=(-Iinclude -Isrc/core -Isrc/win/lsp -Itest/win/lsp)
CORE=(src/core/frame.c src/core/conn.c src/core/rxqueue.c src/core/linger.c)
source win/lsp-sources.sh
LSP_TEST=("${LSP_SRC[@]}") # lower.c: replaced by the harness
LSP_ALL=("${LSP_TEST[@]}" src/win/lsp/lower.c)

echo "== x86_64: harness (LSP sources + fake lower provider + upcalls)"
# -static: the Windows workflow also runs it (--installed) outside the MSYS2 shell, where no mingw runtime DLL is on PATH
"$CC64" "${W[@]}" "${INC[@]}" -static -o "$OUT/x64/lsp-harness.exe" \
    test/win/lsp/harness.c test/win/lsp/fake_ws2.c "${LSP_TEST[@]}" "${CORE[@]}" -lws2_32 -lmswsock

echo "== x86_64: the provider as a DLL over the harness's seams (wsdx-lsp-test.dll: the UNLOAD row frees it)"
"$CC64" "${W[@]}" "${INC[@]}" -shared -o "$OUT/x64/wsdx-lsp-test.dll" \
    "${LSP_TEST[@]}" "${CORE[@]}" test/win/lsp/dll_seams.c src/win/lsp/wsdx-lsp.def -lws2_32

echo "== x86_64: standalone provider DLL (wsdx-lsp.dll: exports only WSPStartup)"
"$CC64" "${W[@]}" "${INC[@]}" -shared -o "$OUT/x64/wsdx-lsp.dll" \
    "${LSP_ALL[@]}" "${CORE[@]}" src/win/lsp/wsdx-lsp.def -lws2_32
exports=$(exports_of "$OUT/x64/wsdx-lsp.dll" "$OBJDUMP64")
echo "   exports: $exports"
[ "$exports" = "WSPStartup" ] || { echo "unexpected exports: $exports"; exit 1; }

echo "== x86_64: installer"
"$CC64" "${W[@]}" "${INC[@]}" -municode -o "$OUT/x64/wsdx-install.exe" \
    -Isrc/win/installer src/win/installer/*.c -lws2_32 -ladvapi32

if [ -n "$CC32" ]; then
    echo "== i686: compile/link only (cannot run under wine64)"
    "$CC32" "${W[@]}" "${INC[@]}" -shared -o "$OUT/x86/wsdx-lsp.dll" \
        "${LSP_ALL[@]}" "${CORE[@]}" src/win/lsp/wsdx-lsp32.def -lws2_32
    exports32=$(exports_of "$OUT/x86/wsdx-lsp.dll" "$OBJDUMP32")
    echo "   exports (i686): $exports32"
    [ "$exports32" = "WSPStartup" ] || { echo "unexpected i686 exports: $exports32"; exit 1; }
    "$CC32" "${W[@]}" "${INC[@]}" -o "$OUT/x86/lsp-harness.exe" \
        test/win/lsp/harness.c test/win/lsp/fake_ws2.c "${LSP_TEST[@]}" "${CORE[@]}" -lws2_32 -lmswsock
    "$CC32" "${W[@]}" "${INC[@]}" -municode -o "$OUT/x86/wsdx-install.exe" \
        -Isrc/win/installer src/win/installer/*.c -lws2_32 -ladvapi32
fi

if [ "$NATIVE_RUN" = 1 ]; then
    echo "== native: harness"
    rc=0
    "$OUT/x64/lsp-harness.exe" | tee "$OUT/harness.log" || rc=1
    grep -q " passed, 0 failed" "$OUT/harness.log" || rc=1
    exit "$rc"
fi

export WINEDEBUG=-all
export WINEPREFIX=$NATIVE/target/wineprefix-lsp
echo "== wine: harness"
timeout 300 wine "$OUT/x64/lsp-harness.exe" | tee "$OUT/harness.log"
rc=${PIPESTATUS[0]}
grep -q " passed, 0 failed" "$OUT/harness.log" || rc=1
echo "== wine: wsdx-install list (Wine's catalog is fake; must not crash)"
timeout 60 wine "$OUT/x64/wsdx-install.exe" list | tee "$OUT/install-list.log" || rc=1
grep -q "catalog entries" "$OUT/install-list.log" || rc=1
exit "$rc"
