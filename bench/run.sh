#!/usr/bin/env bash
# run.sh - the benchmark table (BENCHMARKS.md): builds wsdx, runs the raw-C
# baselines (bench_c) and the Java harness (dev.wsdx.bench.Bench) in one go.
#   bash bench/run.sh            the full table (about 2 minutes on 2 cores)
#   BENCH_QUICK=1 bash bench/run.sh   a smaller run, for trying changes
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mvn -B -q -DskipTests install
lib=$(dirname "$(find native/target/nar -name libwsdx.so -path '*shared*' | head -n 1)")
out=benchmarks/target
mkdir -p "$out"
gcc -O2 -Wall -Werror -Inative/include -o "$out/bench_c" benchmarks/src/main/c/bench_c.c \
    -L"$lib" -Wl,-rpath,"$PWD/$lib" -lwsdx -lpthread

quick=${BENCH_QUICK:-0}
closes=10000 bytes=$((1 << 30)) churn=3000 scale=9000 # scale: both ends in one process, under a 20,000-fd limit
[ "$quick" = 1 ] && closes=1000 bytes=$((1 << 28)) churn=500 scale=2000
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
{
    "$out/bench_c" close "$closes"
    "$out/bench_c" calls 200000
    "$out/bench_c" churn "$churn"
    "$out/bench_c" memory 4000
} >"$out/bench_c.properties"

mvn -B -q -pl benchmarks dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >/dev/null
echo "machine: $(nproc) cores, $(uname -sr), $(java -version 2>&1 | head -n 1)"
java -Xms512m -Xmx2g -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" \
    -Dbench.c="$out/bench_c.properties" -Dbench.closes="$closes" -Dbench.bytes="$bytes" \
    -Dbench.churn="$churn" -Dbench.scale="$scale" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    dev.wsdx.bench.Bench
