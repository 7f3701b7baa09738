"""Fixtures for the end-to-end tests: the real `3dgpt` binary, the Khronos glTF validator, and
helpers that load what the binary writes with trimesh."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
VALIDATOR = ROOT / "tests" / "gltf" / "validate.mjs"


@pytest.fixture(scope="session")
def binary(tmp_path_factory) -> Path:
    """The built `3dgpt` binary; scripts/test.sh builds it before pytest runs. Its daemon runs in a
    private runtime folder for the session and is stopped at the end."""
    path = Path(os.environ.get("THREEDGPT_BIN", ROOT / "target" / "debug" / "3dgpt"))
    if not path.exists():
        raise RuntimeError(f"{path} does not exist: build it with `cargo build -p threedgpt-daemon`")
    os.environ["THREEDGPT_RUNTIME_DIR"] = str(tmp_path_factory.mktemp("runtime"))
    data = tmp_path_factory.mktemp("data")
    os.environ["THREEDGPT_DATA_DIR"] = str(data)
    # ONNX Runtime where the set-up script puts it for users: in the daemon's data folder.
    subprocess.run(
        [str(ROOT / "scripts" / "install_onnxruntime.sh"), str(data / "onnxruntime")],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    yield path
    subprocess.run([str(path), "daemon", "stop"], capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> Path:
    """Tiny ONNX models with manifests (models/tools/make_test_models.py)."""
    folder = tmp_path_factory.mktemp("models")
    subprocess.run([sys.executable, str(ROOT / "models" / "tools" / "make_test_models.py"), str(folder)], check=True)
    return folder


@pytest.fixture(scope="session")
def validate():
    """Runs the Khronos glTF validator over files and returns one report per file."""
    node = shutil.which("node")
    if node is None or not (VALIDATOR.parent / "node_modules" / "gltf-validator").exists():
        raise RuntimeError("the glTF validator is not installed: run scripts/test.sh (npm ci in tests/gltf)")

    def run(*paths: Path) -> list[dict]:
        result = subprocess.run([node, str(VALIDATOR), *map(str, paths)], capture_output=True, text=True, check=True)
        return [json.loads(line) for line in result.stdout.splitlines()]

    return run


def run_cli(binary: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Runs `3dgpt` with arguments and returns the finished process (never raises on failure)."""
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, cwd=cwd, timeout=300, stdin=subprocess.DEVNULL
    )


@pytest.fixture(autouse=True)
def every_gltf_written_is_valid(validate, tmp_path):
    """After each test, runs the Khronos validator over every GLB and glTF file it wrote."""
    yield
    files = sorted([*tmp_path.rglob("*.glb"), *tmp_path.rglob("*.gltf")])
    if not files:
        return
    reports = validate(*files)
    for report in reports:
        assert (report["errors"], report["warnings"]) == (0, 0), (report["path"], report["messages"])


def pytest_configure(config):
    config.addinivalue_line("markers", "disk_size(size): the size of the `small_disk` tmpfs, e.g. '1m'")
