#!/usr/bin/env bash
# The README's examples build as a user pastes them: each ```rust block is
# a whole `src/main.rs`, and a scratch crate with exactly the README's
# [dependencies] table (ssefeed by path to this tree) must compile every one
# of them. A section with a ```toml block of its own (a feature of ssefeed,
# one more crate) builds its examples with that block's lines in place of
# (or besides) the base table's, or, when the block is a whole
# `[dependencies]` table, with that table alone. The examples of "Testing with ssefeed" are
# `#[tokio::test]`s a user puts in `tests/`: they go there in a crate that
# also has that section's [dev-dependencies] table, and they run. The doc
# tests cannot show this: they build with the dev-dependencies (and run no
# test fns).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

python3 - "$repo" "$scratch" >"$scratch/crates" <<'PY'
import pathlib, re, sys
repo, scratch = map(pathlib.Path, sys.argv[1:])
readme = (repo / "README.md").read_text()
local = lambda text: re.sub(r'ssefeed = (\{ )?version = "0\.1"', lambda m: f'ssefeed = {{ path = "{repo}"', text) \
    .replace('ssefeed = "0.1"', f'ssefeed = {{ path = "{repo}" }}')
sections = re.split(r"\n(?=## )", readme)
use_it = next(s for s in sections if s.startswith("## Use it\n"))
base = re.search(r"```toml\n(.*?)```", use_it, re.S).group(1)
if 'ssefeed = "0.1"' not in base:
    sys.exit("README: the dependency block does not name ssefeed 0.1")

def merged(extra):
    """The base table with a section's lines: one per crate, replacing the
    base's; a block that starts with `[dependencies]` is a table of its own
    (the blocking client's needs no tokio)."""
    if extra.lstrip().startswith("[dependencies]"):
        return extra.lstrip()
    lines = base.splitlines()
    for line in extra.splitlines():
        name = re.match(r"([\w-]+)\s*=", line)
        if not name:
            continue
        same = [i for i, l in enumerate(lines) if re.match(rf"{re.escape(name.group(1))}\s*=", l)]
        if same:
            lines[same[0]] = line
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"

def crate(name, deps, dev=""):
    root = scratch / name
    (root / "src/bin").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "Cargo.toml").write_text(
        f'[package]\nname = "readme-{name}"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
        + "[dependencies]\n" + local(deps.replace("[dependencies]\n", "")) + dev + "\n[workspace]\n")
    (root / "src/lib.rs").write_text("")
    return root

count = 0
for n, section in enumerate(sections):
    examples = re.findall(r"```rust[^\n]*\n(.*?)```", section, re.S)
    if not examples:
        continue
    tomls = re.findall(r"```toml\n(.*?)```", section, re.S)
    dev = ""
    if section.startswith("## Testing with ssefeed\n"):
        if "[dev-dependencies]" not in tomls[0] or 'ssefeed = { version = "0.1"' not in tomls[0]:
            sys.exit("README: the testing section's block does not name ssefeed 0.1 as a dev-dependency")
        deps, dev = base, "\n" + local(tomls[0])
    elif tomls and not section.startswith("## Use it\n"):
        deps = merged(tomls[0])
    else:
        deps = base
    root = crate(f"section{n}", deps, dev)
    for k, code in enumerate(examples, 1):
        count += 1
        if any(line.startswith("# ") or line == "#" for line in code.splitlines()):
            sys.exit(f"README {section.splitlines()[0]}, example {k}: a hidden doc-test line shows on GitHub and crates.io")
        if "#[tokio::test]" in code:
            (root / "tests" / f"example{k}.rs").write_text(code)
        elif "fn main" in code:
            (root / "src/bin" / f"example{k}.rs").write_text(code)
        else:
            sys.exit(f"README {section.splitlines()[0]}, example {k} is not a whole program:\n{code}")
    print(root.name)
print(f"{count} README examples", file=sys.stderr)
PY
# (Under the caller's target directory if it names one.)
target="${CARGO_TARGET_DIR:-$repo/target}/readme-example"
while read -r crate; do
    cp Cargo.lock "$scratch/$crate/"
    (cd "$scratch/$crate" && CARGO_TARGET_DIR="$target" cargo check --quiet --bins --tests \
        && if ls tests/*.rs >/dev/null 2>&1; then CARGO_TARGET_DIR="$target" cargo test --quiet --tests; fi) \
        || { cat "$scratch/$crate/Cargo.toml" >&2; exit 1; }
done <"$scratch/crates"
echo "the README's dependency blocks build each of its examples as written, and its tests pass"
