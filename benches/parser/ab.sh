#!/usr/bin/env bash
# Races the parser in the work tree against the parser of another commit, in
# one bench binary: the same peers, rounds and machine, so that the
# `… / base` columns compare the two parsers and nothing else.
#
#   benches/parser/ab.sh REV            # PARSER_ROUNDS=25 by default
#   PARSER_ROUNDS=15 benches/parser/ab.sh HEAD~3
#
# REV's crate is unpacked as a package named `ssefeed-base`, and a copy of
# this bench crate (its manifest given that dependency under the `baseline`
# feature) is built beside it, all under target/parser-ab (AB_DIR to move
# it). Racing a commit against itself (`ab.sh HEAD` on a clean tree) shows
# how far apart two identical parsers measure on this machine.
set -euo pipefail

rev=${1:?usage: ab.sh REV (the commit whose parser is the baseline)}
here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
work=${AB_DIR:-$root/target/parser-ab}
commit=$(git -C "$root" rev-parse --verify "$rev^{commit}")

rm -rf "$work/base" "$work/bench"
mkdir -p "$work/base" "$work/bench/parser" "$work/bench/support"

git -C "$root" archive "$commit" | tar -x -C "$work/base"
sed -i '0,/^name = "ssefeed"$/s//name = "ssefeed-base"/' "$work/base/Cargo.toml"
grep -q '^name = "ssefeed-base"$' "$work/base/Cargo.toml"

cp "$here/parser.rs" "$here/Cargo.lock" "$work/bench/parser/"
cp "$root/benches/support/events.rs" "$work/bench/support/"
sed -e "s|^ssefeed = { path = \"../..\"|ssefeed = { path = \"$root\"|" \
    -e "s|^baseline = \[\]$|baseline = [\"dep:ssefeed_base\"]|" \
    -e "/^ssefeed = /a ssefeed_base = { package = \"ssefeed-base\", path = \"$work/base\", default-features = false, optional = true }" \
    "$here/Cargo.toml" >"$work/bench/parser/Cargo.toml"
grep -q '^baseline = \["dep:ssefeed_base"\]$' "$work/bench/parser/Cargo.toml"

echo "baseline: $commit; under test: the work tree of $root" >&2
cd "$work/bench/parser"
PARSER_ROUNDS=${PARSER_ROUNDS:-25} CARGO_TARGET_DIR="$work/target" \
    cargo bench --features baseline --bench parser
