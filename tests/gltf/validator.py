"""The Khronos glTF validator (`validate.mjs` over the npm package installed here by
scripts/test.sh) for every Python test suite: one report per file, and the check that each test's
written assets pass with no errors and no warnings."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def validate(*paths: Path) -> list[dict]:
    """Runs the validator over files; one report (errors, warnings, messages) per file."""
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "gltf-validator").exists():
        raise RuntimeError("the glTF validator is not installed: run scripts/test.sh (npm ci in tests/gltf)")
    command = [node, str(HERE / "validate.mjs"), *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in result.stdout.splitlines()]


def assert_all_valid(folder: Path) -> None:
    """Every GLB and glTF file under `folder` passes with no errors and no warnings."""
    files = sorted([*folder.rglob("*.glb"), *folder.rglob("*.gltf")])
    for report in validate(*files) if files else []:
        assert (report["errors"], report["warnings"]) == (0, 0), (report["path"], report["messages"])
