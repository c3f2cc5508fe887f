#!/usr/bin/env bash
# Run every native C test (native/test/test_*.c) under AddressSanitizer,
# LeakSanitizer and UndefinedBehaviorSanitizer, built with gcc, with the
# WSDX_ASSERT invariants compiled in.
#
#   bash native/fuzz/sanitize.sh                       # all tests
#   bash native/fuzz/sanitize.sh native/test/test_x.c  # only these
#
# It reuses native/test/run-tests.sh (same sources, same flags, same summary
# parsing) with the sanitizer flags added and its own build dir, so the normal
# build in native/target/ctest is left alone. Any sanitizer report aborts the
# test program (abort_on_error / halt_on_error), which run-tests.sh counts as
# a failure. Prints the tests' summary lines; exit status 1 on any failure.
#
# Environment knobs:
#   CC                    compiler (default gcc; clang works too)
#   WSDX_SAN_BUILD_DIR    build dir (default native/target/ctest-san)
#   WSDX_CTEST_TIMEOUT    seconds per test program (default 300)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"   # native/fuzz
native="$(cd "$here/.." && pwd)"
export CC="${CC:-gcc}"
export WSDX_CTEST_BUILD_DIR="${WSDX_SAN_BUILD_DIR:-$native/target/ctest-san}"
# -DWSDX_CHECKS compiles the WSDX_ASSERT invariants in (src/core/check.h); release builds leave them out
export WSDX_CTEST_EXTRA_CFLAGS="-O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -DWSDX_CHECKS"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}"

# gcc needs its sanitizer runtimes (libasan8 / libubsan1 on Debian 12)
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
echo 'int main(void){return 0;}' >"$probe/p.c"
if ! "$CC" -fsanitize=address,undefined "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
  echo "sanitize.sh: $CC cannot link -fsanitize=address,undefined (install libasan8 libubsan1)" >&2
  exit 1
fi

set +e
out="$(bash "$native/test/run-tests.sh" "$@" 2>&1)"
rc=$?
set -e
# quiet on success: the per-program summaries and the total
summary_re='^ *([A-Za-z0-9_.-]+: )?[0-9]+ passed, [0-9]+ failed'
# test_regressions says whether WSDX_ASSERT was compiled in: it must be here
if [ "$rc" -eq 0 ] && [ "$#" -eq 0 ] && ! grep -q 'WSDX_ASSERT: on' <<<"$out"; then
  echo "sanitize.sh: the tests ran without WSDX_ASSERT compiled in"
  rc=1
fi
if [ "$rc" -eq 0 ]; then
  grep -E "$summary_re" <<<"$out" | sed 's/^ *//'
  echo "sanitize.sh: WSDX_ASSERT invariants on"
  echo "sanitize.sh: all tests clean under ASan+LSan+UBSan ($CC)"
else
  printf '%s\n' "$out"
  echo "sanitize.sh: FAILED (sanitizer report or failed check above)"
fi
exit "$rc"
