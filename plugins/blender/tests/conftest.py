"""Fixtures for the Blender extension's tests: real Blender (the `bpy` module from PyPI) with a
private user folder, the extension installed from its zip the way a user installs it, and the real
`3dgpt` daemon in private folders."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"

# Blender reads its user folder when `bpy` is first imported: keep the user's own config untouched.
_USER = Path(tempfile.mkdtemp(prefix="3dgpt-blender-user-"))
os.environ["BLENDER_USER_RESOURCES"] = str(_USER)


def _binary() -> Path:
    path = Path(os.environ.get("THREEDGPT_BIN", ROOT / "target" / "debug" / "3dgpt"))
    if not path.exists():
        raise RuntimeError(f"{path} does not exist: build it with `cargo build -p threedgpt-daemon`")
    return path


@pytest.fixture(scope="session")
def daemon(tmp_path_factory):
    """A daemon with one worker (so a second job waits in the queue), in private folders; the
    extension's automatic connection finds it through THREEDGPT_RUNTIME_DIR."""
    binary = _binary()
    runtime = tmp_path_factory.mktemp("runtime")
    os.environ["THREEDGPT_RUNTIME_DIR"] = str(runtime)
    os.environ["THREEDGPT_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    os.environ["THREEDGPT_DAEMON"] = str(binary)
    process = subprocess.Popen(
        [str(binary), "serve", "--workers", "1", "--idle-timeout", "0", "--tcp", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket = runtime / "daemon.sock"
    deadline = time.monotonic() + 30
    while not socket.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"`3dgpt serve` did not start (exit status {process.poll()})")
        time.sleep(0.05)
    yield binary
    subprocess.run([str(binary), "daemon", "stop"], capture_output=True, timeout=60)
    process.wait(timeout=30)


@pytest.fixture(scope="session")
def extension(daemon):
    """The extension, installed from the zip built by plugins/blender/build.py and enabled."""
    import bpy

    zip_path = Path(os.environ.get("THREEDGPT_BLENDER_ZIP", ROOT / "target" / "blender" / "threedgpt-0.1.0.zip"))
    if not zip_path.exists():
        raise RuntimeError(f"{zip_path} does not exist: build it with `python plugins/blender/build.py`")
    result = bpy.ops.extensions.package_install_files(
        filepath=str(zip_path), repo="user_default", enable_on_install=True
    )
    assert result == {"FINISHED"}, result
    import importlib

    module = importlib.import_module("bl_ext.user_default.threedgpt")
    yield module
    bpy.ops.preferences.addon_disable(module="bl_ext.user_default.threedgpt")


def drive(extension, timeout: float = 120.0) -> None:
    """Runs the extension's timer callback until it stops, as Blender's event loop would (timers do
    not fire in a headless process)."""
    session = extension.session.SESSION
    deadline = time.monotonic() + timeout
    while True:
        delay = session.tick()
        if delay is None:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the generation did not end within {timeout} s: {session.status()}")
        time.sleep(delay)


def pytest_configure(config):
    # bpy must be importable: the test command installs it; fail loudly rather than skip.
    try:
        import bpy  # noqa: F401
    except ImportError as error:
        raise RuntimeError(f"bpy is not installed ({error}); run scripts/test.sh, which installs it") from error
