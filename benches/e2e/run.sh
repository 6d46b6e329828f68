#!/bin/sh
# The end-to-end benchmark in one command: builds the harness (release) and
# runs every test for every client. Arguments go to the runner, e.g.
#   benches/e2e/run.sh --runs 5 --scale 2
# Set CARGO_TARGET_DIR to share a target directory.
set -eu
cd "$(dirname "$0")"
cargo build --release --bins --quiet
exec "${CARGO_TARGET_DIR:-target}/release/run" "$@"
