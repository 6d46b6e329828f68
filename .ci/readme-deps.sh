#!/usr/bin/env bash
# The README's dependency block builds the README's first example as they
# stand: a scratch crate with exactly that [dependencies] table (ssefeed by
# path to this tree) and that example inside `#[tokio::main] async fn
# main()`, as the README says, must compile. The doc tests cannot show
# this: they build with the dev-dependencies.
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
example = re.search(r"```rust[^\n]*\n(.*?)```", use_it, re.S).group(1)
if 'ssefeed = "0.1"' not in toml:
    sys.exit("README: the dependency block does not name ssefeed 0.1")
toml = toml.replace('ssefeed = "0.1"', f'ssefeed = {{ path = "{repo}" }}')
# rustdoc's hidden lines are part of the example.
code = "\n".join(re.sub(r"^# ?", "", line) if line.startswith("#") and not line.startswith("#[") else line
                 for line in example.splitlines())
(scratch / "src").mkdir()
(scratch / "Cargo.toml").write_text(
    '[package]\nname = "readme-example"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
    + toml + "\n[workspace]\n")
(scratch / "src/main.rs").write_text(
    code + "\n\n#[tokio::main]\nasync fn main() -> Result<(), ssefeed::Error> {\n    run().await\n}\n")
PY
cp Cargo.lock "$scratch/"
(cd "$scratch" && CARGO_TARGET_DIR="$repo/target/readme-example" cargo check --quiet) \
    || { cat "$scratch/Cargo.toml" "$scratch/src/main.rs" >&2; exit 1; }
echo "the README's dependency block builds its example"
