#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine, then runs every test:
# formatting and lints, the Rust workspace tests, and the end-to-end tests of the real binary
# (pytest, with the Khronos glTF validator from npm and trimesh from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "system packages"
missing=()
command -v python3 >/dev/null || missing+=(python3 python3-venv)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v cc >/dev/null || missing+=(build-essential)
if ((${#missing[@]})); then
  echo "installing ${missing[*]} with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }

step "python test environment (.venv)"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt

step "glTF validator (npm)"
(cd tests/gltf && npm ci --no-audit --no-fund --loglevel=error)

step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings
.venv/bin/ruff format --check scripts tests
.venv/bin/ruff check scripts tests

step "rust tests"
cargo test --workspace --locked

step "end-to-end tests"
cargo build --locked -p threedgpt-daemon --quiet
THREEDGPT_BIN="$PWD/target/debug/3dgpt" .venv/bin/python -m pytest tests/e2e -q
