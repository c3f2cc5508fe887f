#!/usr/bin/env bash
# run.sh - the benchmark table (BENCHMARKS.md): builds wsdx and the raw-C baselines (bench_c), then
# runs dev.wsdx.bench.Bench, which takes every figure in rounds interleaving wsdx and its baselines.
#   bash bench/run.sh                  the full table (under 10 minutes on 2 cores)
#   BENCH_QUICK=1 bash bench/run.sh    small sizes, for checking that everything runs
#   BENCH_ROUNDS=n (default 5)         rounds per figure
#   BENCH_SESSIONS=n (default 10000)   sessions in the event-driven row; BENCH_SESSION_TIMEOUT=s per round
#   BENCH_ONLY=1,6                     only these figures (numbers as in the table)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=benchmarks/target
# package in the reactor (nothing is installed into ~/.m2); the class path comes from the same run
mvn -B -q -DskipTests -pl benchmarks -am package dependency:build-classpath \
    -Dmdep.outputFile=target/classpath.txt >/dev/null
lib=$(dirname "$(find native/target/nar -name libwsdx.so -path '*shared*' | head -n 1)")
mkdir -p "$out"
gcc -O2 -Wall -Werror -Inative/include -o "$out/bench_c" benchmarks/src/main/c/bench_c.c \
    -L"$lib" -Wl,-rpath,"$PWD/$lib" -lwsdx -lpthread

rounds=${BENCH_ROUNDS:-5}
# per round; scale: both ends in one process, under a 20,000-fd limit
closes=2000 bytes=$((2048 << 20)) churn=1000 scale=9000 calls=100000 sessions=10000 timeout=120
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    closes=200 bytes=$((16 << 20)) churn=100 scale=1000 calls=10000 sessions=500 timeout=30
fi
sessions=${BENCH_SESSIONS:-$sessions}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "machine: $(nproc) cores, $(uname -sr), $(java -version 2>&1 | head -n 1); $rounds rounds"
java -Xms512m -Xmx2g -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" \
    -Dbench.cbin="$out/bench_c" -Dbench.rounds="$rounds" -Dbench.closes="$closes" -Dbench.bytes="$bytes" \
    -Dbench.churn="$churn" -Dbench.scale="$scale" -Dbench.calls="$calls" -Dbench.sessions="$sessions" -Dbench.only="${BENCH_ONLY:-}" \
    -Dbench.sessionTimeout="${BENCH_SESSION_TIMEOUT:-$timeout}" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    dev.wsdx.bench.Bench
