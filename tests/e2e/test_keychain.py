"""The history key in a real desktop keychain: GNOME Keyring's Secret Service on a private D-Bus
session. The kernel keyring (used where no Secret Service answers) forgets keys at reboot; the
Secret Service keeps them on disk, so a new login session still reads the history."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from conftest import EXAMPLES

# One login session: the keyring daemon unlocked with the user's password, then the commands.
SESSION = """
set -e
printf 'login password' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$@"
"""


def login_session(binary: Path, home: Path, script: str) -> subprocess.CompletedProcess:
    """Runs `script` (3dgpt as $BIN) in a fresh D-Bus session with a fresh keyring daemon, as after
    a reboot and a login; a fresh runtime folder, so a fresh daemon, each time."""
    tools = [shutil.which(name) for name in ("dbus-run-session", "gnome-keyring-daemon")]
    if not all(tools):
        raise RuntimeError("dbus-run-session and gnome-keyring-daemon are missing: run scripts/test.sh (apt)")
    runtime = home / f"runtime-{len(list(home.glob('runtime-*')))}"
    runtime.mkdir(mode=0o700)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "THREEDGPT_RUNTIME_DIR": str(runtime),
        "THREEDGPT_DATA_DIR": str(home / "data"),
        "BIN": str(binary),
    }
    return subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", SESSION, "sh", "sh", "-c", f"set -e\n{script}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_the_history_key_lives_in_the_secret_service_and_outlasts_the_session(binary, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    first = login_session(
        binary,
        home,
        f"""
        "$BIN" generate {EXAMPLES / "duck.png"} -o "$HOME/duck.glb" --faces 2000 --grid 96 --reproducible
        "$BIN" settings show --json > "$HOME/settings.json"
        "$BIN" history list --json > "$HOME/history.json"
        "$BIN" daemon stop
        """,
    )
    assert first.returncode == 0, first.stderr
    settings = json.loads((home / "settings.json").read_text())
    assert settings["history_available"], settings
    assert "Secret Service keychain" in settings["history_status"], settings
    generations = json.loads((home / "history.json").read_text())["generations"]
    assert len(generations) == 1
    keyrings = home / ".local" / "share" / "keyrings"
    assert any(keyrings.iterdir()), "the keyring daemon keeps its collection on disk"

    # A new session (the kernel keyring would have lost the key at the reboot before it): the key
    # comes back from the keychain and the stored asset decrypts to the very same bytes.
    second = login_session(
        binary,
        home,
        f"""
        "$BIN" settings show --json > "$HOME/settings.json"
        "$BIN" history export {generations[0]["id"]} -o "$HOME/again.glb"
        "$BIN" daemon stop
        """,
    )
    assert second.returncode == 0, second.stderr
    assert "Secret Service keychain" in json.loads((home / "settings.json").read_text())["history_status"]
    assert (home / "again.glb").read_bytes() == (home / "duck.glb").read_bytes()


def test_two_daemons_of_one_user_with_two_data_folders_keep_two_history_keys(binary, tmp_path):
    """Two data folders are two devices: each history is sealed with a key of its own, kept in the
    same keychain under a name derived from its folder."""
    home = tmp_path / "home"
    home.mkdir()
    script = ""
    for device in ("a", "b"):
        script += f"""
        mkdir -m 700 "$HOME/run-{device}"
        THREEDGPT_DATA_DIR="$HOME/{device}" THREEDGPT_RUNTIME_DIR="$HOME/run-{device}" \\
          "$BIN" generate {EXAMPLES / "duck.png"} -o "$HOME/{device}.glb" --faces 1000 --grid 64
        THREEDGPT_DATA_DIR="$HOME/{device}" THREEDGPT_RUNTIME_DIR="$HOME/run-{device}" "$BIN" daemon stop
        """
    result = login_session(binary, home, script)
    assert result.returncode == 0, result.stderr
    checks = []
    for device in ("a", "b"):
        with sqlite3.connect(home / device / "history" / "history.db") as database:
            (check,) = database.execute("SELECT value FROM meta WHERE name = 'key_check'").fetchone()
        checks.append(check)
    assert checks[0] != checks[1], "each data folder has its own history key"
    # Each still opens its own history with its own key after a new login.
    again = login_session(
        binary,
        home,
        """
        for device in a b; do
          export THREEDGPT_DATA_DIR="$HOME/$device" THREEDGPT_RUNTIME_DIR="$HOME/run2-$device"
          mkdir -p -m 700 "$THREEDGPT_RUNTIME_DIR"
          "$BIN" history list --json > "$HOME/$device.json"
          "$BIN" daemon stop
        done
        """,
    )
    assert again.returncode == 0, again.stderr
    for device in ("a", "b"):
        assert len(json.loads((home / f"{device}.json").read_text())["generations"]) == 1
