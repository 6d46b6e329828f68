#!/usr/bin/env bash
# Fuzz smoke test: builds every cargo-fuzz target and runs each for a short
# fixed time (FUZZ_SECONDS, default 60) from the checked-in seed corpus.
# Fails on any crash, leak, timeout or build error. Needs the nightly
# toolchain; installs cargo-fuzz when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

# The instrumented build sets its own flags; the CI's -D warnings would only
# add to them.
unset RUSTFLAGS

echo "==> cargo fuzz build"
cargo +nightly fuzz build

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for target in $(cargo +nightly fuzz list); do
    echo "==> fuzz $target for ${seconds}s"
    mkdir -p "$scratch/$target"
    # New inputs go to the scratch directory; the seeds stay as they are.
    if ! cargo +nightly fuzz run "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$scratch/$target.log" 2>&1; then
        tail -n 60 "$scratch/$target.log" >&2
        echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)' "$scratch/$target.log" || true
done

echo "==> fuzz smoke passed"
