"""Fixtures for the end-to-end tests: the real `3dgpt` binary, the Khronos glTF validator, and
helpers that load what the binary writes with trimesh."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT / "tests" / "gltf"))
import validator  # noqa: E402  (tests/gltf/validator.py, shared with the Python module's tests)


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


@pytest.fixture
def cloud(tmp_path):
    """A real `3dgpt-cloud` on a free loopback port, with its data in the test's folder."""
    sys.path.insert(0, str(ROOT / "tests" / "cloud"))
    from cloudclient import Server

    server = Server(tmp_path / "cloud")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> Path:
    """Tiny ONNX models with manifests (models/tools/make_test_models.py)."""
    folder = tmp_path_factory.mktemp("models")
    subprocess.run([sys.executable, str(ROOT / "models" / "tools" / "make_test_models.py"), str(folder)], check=True)
    return folder


@pytest.fixture(scope="session")
def validate():
    """Runs the Khronos glTF validator over files and returns one report per file."""
    return validator.validate


def run_cli(binary: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Runs `3dgpt` with arguments and returns the finished process (never raises on failure)."""
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, cwd=cwd, timeout=300, stdin=subprocess.DEVNULL
    )


@pytest.fixture(autouse=True)
def every_gltf_written_is_valid(tmp_path):
    """After each test, runs the Khronos validator over every GLB and glTF file it wrote."""
    yield
    validator.assert_all_valid(tmp_path)


def pytest_configure(config):
    config.addinivalue_line("markers", "disk_size(size): the size of the `small_disk` tmpfs, e.g. '1m'")
