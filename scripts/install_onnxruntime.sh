#!/usr/bin/env bash
# Installs ONNX Runtime's shared library for the neural models: the CPU build from the PyPI wheel
# `onnxruntime==1.31.1` (only `libonnxruntime.so.1.31.1` is kept, no Python involved at run time).
#
#   scripts/install_onnxruntime.sh [DEST]
#
# DEST defaults to the daemon's set-up location, ${THREEDGPT_DATA_DIR:-${XDG_DATA_HOME:-~/.local/share}/3dgpt}/onnxruntime,
# where `3dgpt serve` finds it; ORT_DYLIB_PATH or `3dgpt serve --onnxruntime PATH` point elsewhere.
# For NVIDIA GPUs, install onnxruntime-gpu==1.31.1's libraries the same way (it adds the CUDA and
# TensorRT providers, which need the CUDA 13 runtime).
set -euo pipefail

VERSION=1.31.1
data="${THREEDGPT_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/3dgpt}"
dest="${1:-$data/onnxruntime}"
library="$dest/libonnxruntime.so.$VERSION"
if [ -f "$library" ]; then
  echo "$library"
  exit 0
fi
python="${PYTHON:-$(command -v python3 || true)}"
"$python" -m pip --version >/dev/null 2>&1 || {
  echo "a Python with pip is needed to fetch the onnxruntime wheel from PyPI (set PYTHON=/path/to/python)" >&2
  exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version 3.11 --platform manylinux_2_28_x86_64 "onnxruntime==$VERSION" -d "$work"
wheel=$(ls "$work"/onnxruntime-"$VERSION"-*.whl)
"$python" - "$wheel" "$dest" "$VERSION" <<'PY'
import os, sys, zipfile
wheel, dest, version = sys.argv[1:]
os.makedirs(dest, exist_ok=True)
with zipfile.ZipFile(wheel) as archive:
    for name in (f"libonnxruntime.so.{version}", "libonnxruntime_providers_shared.so"):
        data = archive.read(f"onnxruntime/capi/{name}")
        partial = os.path.join(dest, f".{name}.partial")
        with open(partial, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, os.path.join(dest, name))
PY
echo "$library"
