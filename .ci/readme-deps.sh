#!/usr/bin/env bash
# The README's examples build as a user pastes them: each ```rust block is
# a whole `src/main.rs`, and a scratch crate with exactly the README's
# [dependencies] table (ssefeed by path to this tree) must compile every one
# of them (those that use serde_json with `serde_json = "1"` added, as the
# README says; those of the blocking client with that section's own table,
# ssefeed's `blocking` feature and no tokio). The examples of "Testing with
# ssefeed" are `#[tokio::test]`s a user puts in `tests/`: they go there in a
# crate that also has that section's [dev-dependencies] table, and they run. The doc tests cannot
# show this: they build with the dev-dependencies (and run no test fns).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

python3 - "$repo" "$scratch" <<'PY'
import pathlib, re, sys
repo, scratch = map(pathlib.Path, sys.argv[1:])
readme = (repo / "README.md").read_text()
use_it = readme[readme.index("\n## Use it\n"):]
toml = re.search(r"```toml\n(.*?)```", use_it, re.S).group(1)
if 'ssefeed = "0.1"' not in toml:
    sys.exit("README: the dependency block does not name ssefeed 0.1")
toml = toml.replace('ssefeed = "0.1"', f'ssefeed = {{ path = "{repo}" }}')
testing = readme[readme.index("\n## Testing with ssefeed\n"):]
dev_toml = re.search(r"```toml\n(.*?)```", testing, re.S).group(1)
if "[dev-dependencies]" not in dev_toml or 'ssefeed = { version = "0.1"' not in dev_toml:
    sys.exit("README: the testing section's block does not name ssefeed 0.1 as a dev-dependency")
dev_toml = dev_toml.replace('ssefeed = { version = "0.1"', f'ssefeed = {{ path = "{repo}"')
blocking = readme[readme.index("\n## Without async: the blocking client\n"):]
blocking_toml = re.search(r"```toml\n(.*?)```", blocking, re.S).group(1)
if 'ssefeed = { version = "0.1", features = ["blocking"] }' not in blocking_toml:
    sys.exit("README: the blocking client's block does not name ssefeed 0.1 with its feature")
blocking_toml = blocking_toml.replace('ssefeed = { version = "0.1"', f'ssefeed = {{ path = "{repo}"')
examples = re.findall(r"```rust[^\n]*\n(.*?)```", readme, re.S)
if not examples:
    sys.exit("README: no rust examples")
crates = [
    ("plain", toml),
    ("serde_json", toml + 'serde_json = "1"\n'),
    ("testing", toml + "\n" + dev_toml),
    # The blocking client's section names its own dependencies, and only
    # those: no tokio.
    ("blocking", blocking_toml),
]
for crate, deps in crates:
    root = scratch / crate
    (root / "src/bin").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "Cargo.toml").write_text(
        f'[package]\nname = "readme-{crate}"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
        + deps + "\n[workspace]\n")
    (root / "src/lib.rs").write_text("")
for n, code in enumerate(examples, 1):
    if any(line.startswith("# ") or line == "#" for line in code.splitlines()):
        sys.exit(f"README example {n}: a hidden doc-test line shows on GitHub and crates.io")
    if "#[tokio::test]" in code:
        (scratch / "testing/tests" / f"example{n}.rs").write_text(code)
        continue
    if "fn main" not in code:
        sys.exit(f"README example {n} is not a whole program:\n{code}")
    if "ssefeed::blocking" in code:
        crate = "blocking"
    else:
        crate = "serde_json" if "serde_json" in code else "plain"
    (scratch / crate / "src/bin" / f"example{n}.rs").write_text(code)
print(f"{len(examples)} README examples")
PY
# (Under the caller's target directory if it names one.)
target="${CARGO_TARGET_DIR:-$repo/target}/readme-example"
for crate in plain serde_json blocking; do
    cp Cargo.lock "$scratch/$crate/"
    (cd "$scratch/$crate" && CARGO_TARGET_DIR="$target" cargo check --quiet --bins) \
        || { cat "$scratch/$crate/Cargo.toml" >&2; exit 1; }
done
cp Cargo.lock "$scratch/testing/"
(cd "$scratch/testing" && CARGO_TARGET_DIR="$target" cargo test --quiet --tests) \
    || { cat "$scratch/testing/Cargo.toml" >&2; exit 1; }
echo "the README's dependency blocks build each of its examples as written, and its tests pass"
