"""Fixtures for the Python module's tests: the real `3dgpt` daemon binary in a private runtime and
data folder, a client connected to it, and checks of the files it writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
VALIDATOR = ROOT / "tests" / "gltf" / "validate.mjs"


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
    node = shutil.which("node")
    if node is None or not (VALIDATOR.parent / "node_modules" / "gltf-validator").exists():
        raise RuntimeError("the glTF validator is not installed: run scripts/test.sh (npm ci in tests/gltf)")

    def run(*paths: Path) -> list[dict]:
        result = subprocess.run([node, str(VALIDATOR), *map(str, paths)], capture_output=True, text=True, check=True)
        return [json.loads(line) for line in result.stdout.splitlines()]

    return run


@pytest.fixture(autouse=True)
def every_glb_written_is_valid(validate, tmp_path):
    """After each test, every GLB it wrote passes the Khronos validator with no errors or warnings."""
    yield
    files = sorted(tmp_path.rglob("*.glb"))
    for report in validate(*files) if files else []:
        assert (report["errors"], report["warnings"]) == (0, 0), (report["path"], report["messages"])
