#!/usr/bin/env bash
# soak.sh - opt-in soak (not in mvn verify): a wsdx echo server under every
# attack of docs/robustness.md "Limits" at once (slowloris, plain TCP, oversized
# and trickled frames, never-reading peers, empty-frame bursts, descriptor
# pressure and exhaustion, a killed client process, close against blocked connects,
# receives and mid-frame sends, 16 MiB messages against the memory budget) while
# legitimate STREAM and MESSAGE clients check every
# byte and disconnect payload. Prints RSS and descriptors per minute and a verdict.
#   bash bench/soak.sh [minutes]    (default 30)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=native/target/soak
mkdir -p "$out"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Werror -fvisibility=hidden \
    -Inative/include -Inative/src/core -Inative/src/bsd -Inative/src/posix -Inative/test \
    -o "$out/soak" bench/soak.c native/test/raw_peer.c native/test/close_events.c native/src/core/*.c native/src/bsd/*.c native/src/posix/*.c -lpthread
ulimit -n 4096 2>/dev/null || true
exec "$out/soak" "${1:-30}"
