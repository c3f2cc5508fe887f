#!/usr/bin/env bash
# Build and run the wsdx C unit tests.
#
#   bash native/test/run-tests.sh                      # every native/test/test_*.c
#   bash native/test/run-tests.sh native/test/test_x.c # only the ones named
#
# Maven runs this in the native module's `test` phase (exec-maven-plugin), so a
# failing C test fails `mvn verify`. How it works:
#   1. src/core/*.c + src/bsd/*.c + src/posix/*.c are compiled once, with the library's flags, into
#      a static archive (so tests can also call internal, non-WSDX_API functions);
#   2. every native/test/*.c that is NOT test_*.c is a helper linked into each test;
#   3. each test_*.c is its own program (own main()); it is linked, run with a
#      timeout, and passes only if it exits 0 AND its last output line is
#      "N passed, 0 failed" (optionally prefixed by one "word: ", e.g. "test_conn: 5 passed, 0 failed");
#   4. a total "N passed, M failed" line is printed last; exit status 1 if anything failed.
#
# Environment knobs:
#   CC                    compiler (default gcc)
#   WSDX_CTEST_BUILD_DIR  output dir (default native/target/ctest)
#   WSDX_CTEST_TIMEOUT    seconds per test program (default 300)
#   WSDX_CTEST_EXTRA_CFLAGS  extra flags, e.g. "-fsanitize=address,undefined -fno-omit-frame-pointer"
#   WSDX_CTEST_JOBS       parallel compile jobs for the library objects (default: nproc)
#   WSDX_CTEST_FAIL_FAST  1: stop at the first failing program (native/mutate/mutate.py uses it)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"   # native/test
native="$(cd "$here/.." && pwd)"                         # native
build="${WSDX_CTEST_BUILD_DIR:-$native/target/ctest}"
cc="${CC:-gcc}"
timeout_s="${WSDX_CTEST_TIMEOUT:-300}"
jobs="${WSDX_CTEST_JOBS:-$(nproc 2>/dev/null || echo 2)}"

# Same flags as the NAR build of libwsdx.so (native/pom.xml), plus -g for debugging.
# shellcheck disable=SC2206
cflags=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -fvisibility=hidden -fPIC ${WSDX_CTEST_EXTRA_CFLAGS:-})
incs=(-I"$native/include" -I"$native/src/core" -I"$native/src/bsd" -I"$native/src/posix" -I"$here")
libs=(-lpthread)

shopt -s nullglob

if [ "$#" -gt 0 ]; then
  tests=("$@")
else
  tests=("$here"/test_*.c)
fi
if [ "${#tests[@]}" -eq 0 ]; then
  echo "run-tests.sh: no C tests found (native/test/test_*.c)"
  echo "0 passed, 0 failed"
  exit 0
fi

helpers=()
for f in "$here"/*.c; do
  case "$(basename "$f")" in
    test_*.c) ;;
    *) helpers+=("$f") ;;
  esac
done

rm -rf "$build"
mkdir -p "$build/obj" "$build/bin" "$build/log"
build="$(cd "$build" && pwd)"

# 1. library sources -> static archive
srcs=("$native"/src/core/*.c "$native"/src/bsd/*.c "$native"/src/posix/*.c)
objs=()
if [ "${#srcs[@]}" -gt 0 ]; then
  echo "== compiling ${#srcs[@]} library source(s) ($cc)"
  pids=()
  for s in "${srcs[@]}"; do
    o="$build/obj/$(basename "$(dirname "$s")")_$(basename "${s%.c}").o"
    objs+=("$o")
    "$cc" "${cflags[@]}" "${incs[@]}" -c "$s" -o "$o" &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$jobs" ]; then
      for p in "${pids[@]}"; do wait "$p" || { echo "run-tests.sh: library compile failed"; exit 1; }; done
      pids=()
    fi
  done
  for p in "${pids[@]}"; do wait "$p" || { echo "run-tests.sh: library compile failed"; exit 1; }; done
  ar rcs "$build/libwsdx_test.a" "${objs[@]}"
fi
archive=()
[ -f "$build/libwsdx_test.a" ] && archive=("$build/libwsdx_test.a")

# 2./3. each test program
# final line of a test program: "N passed, M failed", optionally after one "word: "
# (e.g. "test_conn: 57 passed, 0 failed"), optionally followed by ", K skipped"
summary_re='^([A-Za-z0-9_.-]+: )?([0-9]+) passed, ([0-9]+) failed(, [0-9]+ skipped)?[[:space:]]*$'
total_pass=0
total_fail=0
failed_programs=()
for t in "${tests[@]}"; do
  name="$(basename "${t%.c}")"
  exe="$build/bin/$name"
  log="$build/log/$name.log"
  echo "== $name"
  if ! "$cc" "${cflags[@]}" "${incs[@]}" -o "$exe" "$t" "${helpers[@]}" "${archive[@]}" "${libs[@]}"; then
    echo "   COMPILE FAILED: $t"
    failed_programs+=("$name (compile)")
    total_fail=$((total_fail + 1))
    continue
  fi
  set +e
  (cd "$build" && timeout --kill-after=10 "$timeout_s" "$exe") >"$log" 2>&1
  rc=$?
  set -e
  sed 's/^/   /' "$log"
  last="$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 || true)"
  if [[ "$last" =~ $summary_re ]]; then
    p="${BASH_REMATCH[2]}"; f="${BASH_REMATCH[3]}"
  else
    p=0; f=0
  fi
  total_pass=$((total_pass + p))
  if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ] || [[ ! "$last" =~ $summary_re ]]; then
    # count at least one failure for a program that crashed / timed out / had no summary line
    [ "$f" -eq 0 ] && f=1
    total_fail=$((total_fail + f))
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      why="timed out after ${timeout_s}s"
    elif [ "$rc" -ne 0 ]; then
      why="exit status $rc"
    elif [[ "$last" =~ $summary_re ]]; then
      why="it reported failures"
    else
      why="last line is not 'N passed, M failed'"
    fi
    echo "   FAILED: $name ($why)"
    failed_programs+=("$name ($why)")
    [ "${WSDX_CTEST_FAIL_FAST:-0}" = 1 ] && break
  fi
done

echo "== C unit tests: ${#tests[@]} program(s)"
for f in "${failed_programs[@]}"; do echo "   failed: $f"; done
echo "$total_pass passed, $total_fail failed"
[ "${#failed_programs[@]}" -eq 0 ]
