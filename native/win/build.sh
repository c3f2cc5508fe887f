#!/usr/bin/env bash
# build.sh - the Windows build, run here with mingw-w64 and Wine:
#   1. lsp-build.sh: the provider's Wine harness and the catalog installer;
#   2. wsdx.dll (x86-64, and i686 link-checked): the portable core, the BSD-sockets
#      code both hosts share (src/bsd), the Windows host (src/win) and the layered service provider (src/win/lsp), exporting
#      exactly the wsdx_* functions of include/wsdx.h and WSPStartup;
#   3. the portable C tests and the socket test against wsdx.dll, and the
#      socket test again on the installed backend, under Wine.
# Output: native/target/win/wsdx.dll and wsdx-install.exe, native/target/win32/wsdx.dll
# (java-api packs them as win32-x86-64/wsdx.dll, win32-x86-64/wsdx-install.exe, win32-x86/wsdx.dll).
#
#   bash native/win/build.sh            Linux: cross-build, run under Wine
#   bash native/win/build.sh --native   Windows (MSYS2): build, run natively
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bash "$here/lsp-build.sh" "$@" # installs mingw-w64 and Wine where missing
cd "$here/.."                  # native/
NATIVE=$PWD
NATIVE_RUN=0
[ "${1:-}" = "--native" ] && NATIVE_RUN=1
CC64=${CC64:-x86_64-w64-mingw32-gcc}
CC32=${CC32-i686-w64-mingw32-gcc}
OBJDUMP64=${OBJDUMP64:-${CC64%gcc}objdump}
OBJDUMP32=${OBJDUMP32:-${CC32%gcc}objdump}
OUT=$NATIVE/target/win
mkdir -p "$OUT" "$NATIVE/target/win32"

W=(-std=c11 -Wall -Wextra -Werror -O2)
INC=(-Iinclude -Isrc/core -Isrc/bsd -Isrc/win -Isrc/win/lsp)
SRC=(src/core/*.c src/bsd/*.c src/win/*.c src/win/lsp/*.c)

# The export list comes from the public header: one source of truth.
api=$(grep -E '^WSDX_API ' include/wsdx.h | grep -oE 'wsdx_[a-z_]+\(' | tr -d '(' | sort)
def() { # $1: the WSPStartup line
    printf 'LIBRARY wsdx.dll\nEXPORTS\n'
    printf '    %s\n' $api "$1"
}
def "WSPStartup" > "$OUT/wsdx.def"
def "WSPStartup = WSPStartup@76" > "$NATIVE/target/win32/wsdx.def"
want=$(printf '%s\n' $api WSPStartup | sort)

exports_of() { # DLL OBJDUMP -> exported names, sorted
    "$2" -p "$1" | awk '/\[Ordinal\/Name Pointer\] Table/{f=1;next} f&&/\[/{print $NF} f&&!/\[/{f=0}' | sort
}
check_exports() {
    local got
    got=$(exports_of "$1" "$2")
    if [ "$got" != "$want" ]; then
        echo "wrong exports in $1:"; diff <(echo "$want") <(echo "$got") || true
        exit 1
    fi
    echo "   exports of $(basename "$(dirname "$1")")/wsdx.dll: the $(echo "$api" | wc -w) wsdx_* functions and WSPStartup"
}

echo "== x86_64: wsdx.dll (core + Windows host + provider)"
"$CC64" "${W[@]}" -DWSDX_BUILDING "${INC[@]}" -shared -static-libgcc -o "$OUT/wsdx.dll" \
    "${SRC[@]}" "$OUT/wsdx.def" -Wl,--out-implib,"$OUT/libwsdx.dll.a" -lws2_32
check_exports "$OUT/wsdx.dll" "$OBJDUMP64"
if [ -n "$CC32" ]; then
    echo "== i686: wsdx.dll (link check; a 32-bit JVM loads it, Wine here cannot run it)"
    "$CC32" "${W[@]}" -DWSDX_BUILDING "${INC[@]}" -shared -static-libgcc -o "$NATIVE/target/win32/wsdx.dll" \
        "${SRC[@]}" "$NATIVE/target/win32/wsdx.def" -lws2_32
    check_exports "$NATIVE/target/win32/wsdx.dll" "$OBJDUMP32"
fi

cp "$NATIVE/target/win-lsp/x64/wsdx-install.exe" "$OUT/" # java-api packs it for dev.wsdx.ProviderInstaller

echo "== x86_64: tests"
TESTS=()
for t in test_frame test_conn test_regressions; do # the portable ones, on the core alone
    "$CC64" "${W[@]}" -DWSDX_BUILDING "${INC[@]}" -Itest -o "$OUT/$t.exe" "test/$t.c" src/core/*.c src/bsd/*.c src/win/*.c -lws2_32
    TESTS+=("$t")
done
"$CC64" "${W[@]}" -Iinclude -Itest -o "$OUT/test_socket.exe" test/test_socket.c "$OUT/libwsdx.dll.a" -lws2_32
TESTS+=(test_socket)
# The same socket test on the installed backend (src/win/provider_client.c):
# its Winsock calls reach the provider's WSP table through installed_shim.c,
# as ws2_32 would route them to an installed wsdx entry; includes the seed
# scenario between the two backends in both directions.
"$CC64" "${W[@]}" -DWSDX_BUILDING -DWSDX_TEST_INSTALLED_SHIM "${INC[@]}" -Itest -Itest/win/lsp -o "$OUT/test_socket_installed.exe" \
    test/test_socket.c test/win/lsp/installed_shim.c test/win/lsp/fake_ws2.c src/core/*.c src/bsd/*.c src/win/*.c \
    src/win/lsp/wsp.c src/win/lsp/passthru.c src/win/lsp/wsdxproto.c src/win/lsp/wsock.c src/win/lsp/connect.c \
    src/win/lsp/listen.c src/win/lsp/extensions.c -lws2_32
TESTS+=(test_socket_installed)

run() { # test name -> its output; fails unless it ends "N passed, 0 failed"
    local log="$OUT/$1.log" rc=0
    if [ "$NATIVE_RUN" = 1 ]; then
        (cd "$OUT" && timeout 300 "./$1.exe") >"$log" 2>&1 || rc=$?
    else
        (cd "$OUT" && WINEDEBUG=-all WINEPREFIX="$NATIVE/target/wineprefix" timeout 300 wine "$1.exe") >"$log" 2>&1 || rc=$?
    fi
    tr -d '\r' <"$log" >"$log.txt" # Windows consoles end lines with CRLF
    tail -n 1 "$log.txt"
    if [ "$rc" != 0 ] || ! tail -n 1 "$log.txt" | grep -qE ' passed, 0 failed$'; then
        cat "$log"; echo "FAILED: $1 (exit $rc)"; return 1
    fi
}
failed=0
for t in "${TESTS[@]}"; do run "$t" || failed=1; done
exit "$failed"
