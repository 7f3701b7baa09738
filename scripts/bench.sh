#!/usr/bin/env bash
# Produces the README's performance table: `cargo bench` per stage (divan, medians), then the
# side-by-side comparisons and peak-memory runs of scripts/bench.py, all in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/bench-requirements.txt
cargo build --release --locked -p threedgpt-daemon -p threedgpt-engine --examples --bins --quiet
cargo bench --locked -p threedgpt-engine --bench stages
.venv/bin/python scripts/bench.py
