#!/usr/bin/env bash
# Runs tests/browser.rs in headless Chromium: builds it for
# wasm32-unknown-unknown, starts tests/support/browser_server.py on
# 127.0.0.1 (another origin than the test page), and lets
# wasm-bindgen-test-runner drive Chromium through ChromeDriver.
#
# Needs: `rustup target add wasm32-unknown-unknown`; wasm-bindgen-test-runner
# of the wasm-bindgen version in Cargo.lock
# (`cargo install wasm-bindgen-cli --version <that version>`); Chromium and
# ChromeDriver (Debian: `apt-get install chromium chromium-driver`); python3.
# Arguments go to `cargo test` (a test name filter, say).
set -euo pipefail
cd "$(dirname "$0")/.."

wanted="$(sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"/\1/p}' Cargo.lock)"
have="$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $2}')" || true
if [ "$have" != "$wanted" ]; then
    echo "tests/browser.sh: needs wasm-bindgen-test-runner $wanted (found: ${have:-none});" >&2
    echo "  cargo install wasm-bindgen-cli --version $wanted" >&2
    exit 1
fi

port_file="$(mktemp)"
python3 tests/support/browser_server.py >"$port_file" &
server=$!
trap 'kill "$server" 2>/dev/null; rm -f "$port_file"' EXIT
for _ in $(seq 100); do
    [ -s "$port_file" ] && break
    kill -0 "$server" || { echo "tests/browser.sh: the test server did not start" >&2; exit 1; }
    sleep 0.1
done
port="$(head -1 "$port_file")"

export SSEFEED_BROWSER_SERVER="http://127.0.0.1:$port"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/tests/support/webdriver.json"
cargo test -p ssefeed --target wasm32-unknown-unknown --test browser "$@"
