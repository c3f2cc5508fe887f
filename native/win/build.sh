#!/usr/bin/env bash
# build.sh - the Windows build, run here with mingw-w64 and Wine:
#   1. lsp-build.sh: the provider's Wine harness and the catalog installer;
#   2. wsdx.dll (x86-64, and i686 link-checked): the portable core, the BSD-sockets
#      code both hosts share (src/bsd), the Windows host (src/win) and the layered service provider (src/win/lsp), exporting
#      exactly the wsdx_* functions of include/wsdx.h and WSPStartup;
#   3. wsdx-lsp.dll (x86-64, i686): the provider alone, the DLL the catalog
#      names: no in-process notifier, so no USER32 import;
#   4. every DLL's imports checked against an allowed list;
#   5. the portable C tests and the socket, select and non-blocking connect tests
#      against wsdx.dll, the socket test again on the installed backend, the
#      backend choice over a catalog model, the notifier's test and the
#      installer's own tests (catalog model, checks), under Wine.
# Output: native/target/win/{wsdx.dll,wsdx-lsp.dll,wsdx-install.exe},
# native/target/win32/{wsdx.dll,wsdx-lsp.dll,wsdx-install.exe}
# (java-api packs them under win32-x86-64/ and win32-x86/).
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

# Imports. A DLL's own imports are found by the normal search order, not in
# its folder, and the provider is loaded into every process: anything beyond
# the system DLLs (libwinpthread-1.dll, which MSYS2's gcc pulls in for
# _Thread_local; libgcc_s_*.dll) would have to be on every process's PATH.
# -static links those runtimes in; this check keeps it so.
ALLOWED='kernel32\.dll|ws2_32\.dll|advapi32\.dll|msvcrt\.dll|ucrtbase\.dll|api-ms-win-crt-[a-z0-9-]+\.dll'
imports_of() { # DLL OBJDUMP -> imported DLL names, lower case, sorted
    "$2" -p "$1" | awk '/DLL Name:/{print tolower($3)}' | sort -u
}
check_imports() { # DLL OBJDUMP [extra allowed regex]
    local bad
    bad=$(imports_of "$1" "$2" | grep -vxE "$ALLOWED${3:+|$3}" || true)
    if [ -n "$bad" ]; then
        echo "forbidden imports in $1:" $bad; return 1
    fi
    echo "   imports of ${1#"$NATIVE"/}:" $(imports_of "$1" "$2")
}

echo "== x86_64: wsdx.dll (core + Windows host + provider)"
"$CC64" "${W[@]}" -DWSDX_BUILDING "${INC[@]}" -shared -static -static-libgcc -o "$OUT/wsdx.dll" \
    "${SRC[@]}" "$OUT/wsdx.def" -Wl,--out-implib,"$OUT/libwsdx.dll.a" -lws2_32
check_exports "$OUT/wsdx.dll" "$OBJDUMP64"
check_imports "$OUT/wsdx.dll" "$OBJDUMP64" 'user32\.dll' # the in-process notifier's window
if [ -n "$CC32" ]; then
    echo "== i686: wsdx.dll (link check; a 32-bit JVM loads it, Wine here cannot run it)"
    "$CC32" "${W[@]}" -DWSDX_BUILDING "${INC[@]}" -shared -static -static-libgcc -o "$NATIVE/target/win32/wsdx.dll" \
        "${SRC[@]}" "$NATIVE/target/win32/wsdx.def" -lws2_32
    check_exports "$NATIVE/target/win32/wsdx.dll" "$OBJDUMP32"
    check_imports "$NATIVE/target/win32/wsdx.dll" "$OBJDUMP32" 'user32\.dll'
fi

# The provider alone, for the catalog: the provider's sources, the part of the
# core it uses, and user32_lazy.c for its one USER32 call, so processes that
# cannot load USER32 (Win32k lockdown) can still load it. Exports WSPStartup only.
source win/lsp-sources.sh
LSP_DLL_SRC=("${LSP_SRC[@]}" src/win/lsp/lower.c
    src/core/frame.c src/core/conn.c src/core/rxqueue.c src/core/linger.c src/win/lspdll/user32_lazy.c)
provider_dll() { # CC DEF OUT OBJDUMP
    "$1" "${W[@]}" -Iinclude -Isrc/core -Isrc/win/lsp -shared -static -static-libgcc -o "$3" \
        "${LSP_DLL_SRC[@]}" "$2" -lws2_32
    [ "$(exports_of "$3" "$4" | tr -d '\n')" = WSPStartup ] || { echo "$3 must export WSPStartup only"; exit 1; }
    check_imports "$3" "$4" # no USER32
}
echo "== x86_64: wsdx-lsp.dll (the provider alone)"
provider_dll "$CC64" src/win/lsp/wsdx-lsp.def "$OUT/wsdx-lsp.dll" "$OBJDUMP64"
if [ -n "$CC32" ]; then
    echo "== i686: wsdx-lsp.dll"
    provider_dll "$CC32" src/win/lsp/wsdx-lsp32.def "$NATIVE/target/win32/wsdx-lsp.dll" "$OBJDUMP32"
fi
# The check must be able to fail: a DLL importing USER32 is refused.
printf '#include <windows.h>\n__declspec(dllexport) void f(void) { MessageBeep(0); }\n' >"$OUT/imports_probe.c"
"$CC64" -shared -o "$OUT/imports_probe.dll" "$OUT/imports_probe.c" -luser32
if check_imports "$OUT/imports_probe.dll" "$OBJDUMP64" >/dev/null; then
    echo "the imports check let USER32 through"; exit 1
fi

# The installer, -static: it runs from the provider folder, outside any MSYS2 shell.
# java-api packs it for dev.wsdx.ProviderInstaller; the x86 one writes the 32-bit catalog.
installer() { # CC OUT
    "$1" "${W[@]}" -Iinclude -Isrc/win/lsp -Isrc/win/installer -municode -static -o "$2" \
        src/win/installer/*.c -lws2_32 -ladvapi32
}
installer "$CC64" "$OUT/wsdx-install.exe"
[ -z "$CC32" ] || installer "$CC32" "$NATIVE/target/win32/wsdx-install.exe"

echo "== x86_64: tests"
TESTS=()
for t in test_frame test_conn test_regressions; do # the portable ones, on the core alone
    "$CC64" "${W[@]}" -DWSDX_BUILDING "${INC[@]}" -Itest -o "$OUT/$t.exe" "test/$t.c" src/core/*.c src/bsd/*.c src/win/*.c -lws2_32
    TESTS+=("$t")
done
# The socket tests through wsdx.h only, against wsdx.dll (close_events.c: their shared close-event recorder).
for t in test_socket test_select test_connect_async; do
    "$CC64" "${W[@]}" -Iinclude -Itest -o "$OUT/$t.exe" "test/$t.c" test/close_events.c "$OUT/libwsdx.dll.a" -lws2_32
    TESTS+=("$t")
done
# The same socket test on the installed backend (src/win/provider_client.c):
# its Winsock calls reach the provider's WSP table through installed_shim.c,
# as ws2_32 would route them to an installed wsdx entry; includes the seed
# scenario between the two backends in both directions.
SHIMMED=(test/win/lsp/installed_shim.c test/win/lsp/fake_ws2.c src/core/*.c src/bsd/*.c src/win/*.c
    "${LSP_SRC[@]}" -lws2_32)
"$CC64" "${W[@]}" -DWSDX_BUILDING -DWSDX_TEST_INSTALLED_SHIM "${INC[@]}" -Itest -Itest/win/lsp -o "$OUT/test_socket_installed.exe" \
    test/test_socket.c test/close_events.c "${SHIMMED[@]}"
TESTS+=(test_socket_installed)
# How the backend choice follows the catalog: installed_shim.c's catalog model
# installs, removes, repairs and breaks the wsdx entries (issue 15 item 9).
"$CC64" "${W[@]}" -DWSDX_BUILDING "${INC[@]}" -Itest -Itest/win/lsp -o "$OUT/test_backend_choice.exe" \
    test/win/test_backend_choice.c "${SHIMMED[@]}"
TESTS+=(test_backend_choice)
# The in-process notifier alone (the core's callbacks played by the test).
"$CC64" "${W[@]}" -DWSDX_BUILDING "${INC[@]}" -Itest -o "$OUT/test_notifier.exe" test/win/test_notifier.c \
    src/win/notifier.c src/win/sync.c -lws2_32
TESTS+=(test_notifier)
# The installer's own tests: its catalog work against the catalog model, and
# its checks (DLL arguments, folder security, privileges, exit codes, mutex).
IINC=(-Iinclude -Isrc/win/lsp -Isrc/win/installer -Itest -Itest/win/installer)
"$CC64" "${W[@]}" "${IINC[@]}" -o "$OUT/test_catalog.exe" test/win/installer/test_catalog.c \
    test/win/installer/catalog_model.c src/win/installer/catalog.c src/win/installer/catalog_remove.c -lws2_32
TESTS+=(test_catalog)
"$CC64" "${W[@]}" -shared -o "$OUT/no_wsp.dll" test/win/installer/no_wsp.c
"$CC64" "${W[@]}" "${IINC[@]}" -municode -o "$OUT/test_checks.exe" test/win/installer/test_checks.c \
    src/win/installer/checks.c -lws2_32 -ladvapi32
# Another vendor's LSP for the Windows workflow (layered over wsdx, then wsdx removed under it).
"$CC64" "${W[@]}" -municode -static -o "$OUT/other-lsp.exe" test/win/installer/other_lsp.c -lws2_32

# Holds Wine's desktop open for the whole run (Linux only; see
# test/win/desktop_pin.c): without it the desktop closes between two tests and
# a test that starts in that gap can die in USER32's start-up, exit code 66
# (STATUS_DLL_INIT_FAILED), before its main. The pin is a user process, so it
# also keeps one wineserver for the run; wineserver -k at exit ends them both.
"$CC64" "${W[@]}" -o "$OUT/desktop_pin.exe" test/win/desktop_pin.c
pin_desktop() {
    export WINEDEBUG=-all WINEPREFIX="$NATIVE/target/wineprefix"
    trap 'wineserver -k 2>/dev/null || true' EXIT
    local try pid log="$OUT/desktop_pin.log"
    for try in 1 2 3; do # a pin that itself lost the race exits; start another
        (cd "$OUT" && exec wine desktop_pin.exe) >"$log" 2>&1 &
        pid=$!
        for _ in $(seq 600); do # 120 s for a first start that creates the prefix
            if tr -d '\r' <"$log" | grep -q '^desktop ready$'; then return 0; fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        echo "desktop_pin (try $try) exited without a desktop:"; cat "$log"
    done
    return 1
}
[ "$NATIVE_RUN" = 1 ] || pin_desktop

run() { # test name [args] -> its output; fails unless it ends "N passed, 0 failed"
    local log="$OUT/$1.log" rc=0 t=$1
    shift
    if [ "$NATIVE_RUN" = 1 ]; then
        (cd "$OUT" && timeout 300 "./$t.exe" "$@") >"$log" 2>&1 || rc=$?
    else
        (cd "$OUT" && WINEDEBUG=-all WINEPREFIX="$NATIVE/target/wineprefix" timeout 300 wine "$t.exe" "$@") >"$log" 2>&1 || rc=$?
    fi
    tr -d '\r' <"$log" >"$log.txt" # Windows consoles end lines with CRLF
    tail -n 1 "$log.txt"
    if [ "$rc" != 0 ] || ! tail -n 1 "$log.txt" | grep -qE ' passed, 0 failed$'; then
        cat "$log"; echo "FAILED: $t (exit $rc)"
        [ "$rc" = 66 ] && echo "   (66 is 0xC0000142 & 0xFF, STATUS_DLL_INIT_FAILED: a DLL failed to start, before main)"
        return 1
    fi
}
failed=0
for t in "${TESTS[@]}"; do run "$t" || failed=1; done
x86dll=../win32/wsdx-lsp.dll
[ -f "$OUT/$x86dll" ] || x86dll=../win-lsp/x86/wsdx-lsp.dll
run test_checks wsdx-install.exe wsdx-lsp.dll "$x86dll" no_wsp.dll || failed=1
exit "$failed"
