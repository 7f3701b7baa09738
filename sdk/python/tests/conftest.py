"""Fixtures for the Python module's tests: the real `3dgpt` daemon binary in a private runtime and
data folder, a client connected to it, and checks of the files it writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT / "tests" / "gltf"))
import validator  # noqa: E402  (tests/gltf/validator.py, shared with the end-to-end tests)


@pytest.fixture(scope="session")
def daemon_binary(tmp_path_factory) -> Path:
    """The built `3dgpt` (scripts/test.sh builds it), used by every client this session starts; its
    daemon runs in private folders and is stopped at the end."""
    path = Path(os.environ.get("THREEDGPT_BIN", ROOT / "target" / "debug" / "3dgpt"))
    if not path.exists():
        raise RuntimeError(f"{path} does not exist: build it with `cargo build -p threedgpt-daemon`")
    os.environ["THREEDGPT_DAEMON"] = str(path)
    os.environ["THREEDGPT_RUNTIME_DIR"] = str(tmp_path_factory.mktemp("runtime"))
    os.environ["THREEDGPT_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    yield path
    subprocess.run([str(path), "daemon", "stop"], capture_output=True, timeout=60)


@pytest.fixture
def client(daemon_binary):
    import threedgpt

    return threedgpt.Client()


@pytest.fixture(scope="session")
def validate():
    """The Khronos glTF validator over files: one report per file."""
    return validator.validate


@pytest.fixture(autouse=True)
def every_glb_written_is_valid(tmp_path):
    """After each test, every GLB (and glTF) it wrote passes the Khronos validator with no errors
    or warnings."""
    yield
    validator.assert_all_valid(tmp_path)
