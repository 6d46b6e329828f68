#!/bin/bash
# Instructions per event for each client, counted by valgrind (callgrind),
# so the figure does not depend on the machine's load: the difference
# between a run of 2N events and a run of N events, divided by N, which
# leaves out start-up (runtime, HTTP client, TLS roots, connect).
#   benches/e2e/instructions.sh [N]      (default N=100000; notify uses N/2)
# Needs valgrind and a release build (run.sh builds one).
set -eu
cd "$(dirname "$0")"
bin="${CARGO_TARGET_DIR:-target}/release"
n="${1:-100000}"
libs="ssefeed ldclient reqwest-eventsource sse-reqwest-client reqwest raw"
tmp="$(mktemp -d)"
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
count() { # lib url events -> instructions
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" \
        "$bin/client" --lib "$1" --url "$2" --events "$3" >/dev/null 2>"$tmp/err" \
        || { cat "$tmp/err" >&2; exit 1; }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/err"
}
printf '| test | %s |\n|---|' "$(echo $libs | sed 's/ / | /g')"
for _ in $libs; do printf -- '---:|'; done; echo
while read -r name mode corpus chunk div; do
    events=$((n / div))
    port="$tmp/port-$mode-$corpus-$chunk"
    "$bin/server" --mode "$mode" --corpus "$corpus" --events $((2 * events)) \
        --chunk-bytes "$chunk" >"$port" &
    server=$!
    while ! grep -q 'data_bytes=[0-9]' "$port" 2>/dev/null; do sleep 0.1; done
    url="http://127.0.0.1:$(sed 's/.*port=\([0-9]*\).*/\1/' "$port")/"
    printf "| %s |" "${name//_/ }"
    for lib in $libs; do
        one=$(count "$lib" "$url" "$events")
        two=$(count "$lib" "$url" $((2 * events)))
        printf ' %d |' $(((two - one) / events))
    done
    echo
    kill "$server"; wait "$server" 2>/dev/null || true
done <<'TESTS'
llm,_close-delimited stream-close llm 0 1
llm,_chunked_(a_chunk_per_event) stream-chunked llm 0 1
llm,_chunked_(16_KiB_chunks) stream-chunked llm 16384 1
notify,_close-delimited stream-close notify 0 2
notify,_chunked_(a_chunk_per_event) stream-chunked notify 0 2
TESTS
