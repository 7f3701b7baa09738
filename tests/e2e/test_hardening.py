"""Hardening, end to end with the real binary: the user's photo is never overwritten, nothing
deleted stays readable, a full disk is said, the client trusts only its own daemon, text from the
daemon cannot forge output, nobody can starve the daemon of file handles, bad files are refused
before they are read whole, and jobs left by a killed daemon are told of."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import EXAMPLES

NOBODY = 65534
FAST = ["--faces", "2000", "--texture-size", "256", "--grid", "96"]


def run(binary: Path, *args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 300):
    return subprocess.run(
        [str(binary), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def private_daemon(binary, tmp_path) -> Iterator[dict]:
    """The environment of a daemon of its own (runtime and data folder), stopped afterwards."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {
        **os.environ,
        "THREEDGPT_RUNTIME_DIR": str(runtime),
        "THREEDGPT_DATA_DIR": str(tmp_path / "data"),
    }
    yield env
    run(binary, "daemon", "stop", env=env, timeout=60)


@pytest.fixture
def small_disk(tmp_path, request) -> Iterator[Path]:
    """A folder on a small tmpfs, 4 MiB unless the test's `disk_size` mark says otherwise (the
    tests run as root and mount it)."""
    marker = request.node.get_closest_marker("disk_size")
    size = marker.args[0] if marker else "4m"
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    assert mounted.returncode == 0, f"could not mount a tmpfs (the tests need root): {mounted.stderr}"
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


# 1. Side files never replace an input or a file nobody asked for -----------------------------


@pytest.mark.parametrize("fmt", ["glb", "gltf", "obj", "stl", "ply"])
def test_every_format_in_the_inputs_own_folder_leaves_the_photo_alone(binary, tmp_path, fmt):
    photos = tmp_path / "photos"
    photos.mkdir()
    photo = photos / "duck.png"
    shutil.copy(EXAMPLES / "duck.png", photo)
    original = photo.read_bytes()
    # As the red team ran it: in the input's folder, with the format as an option and as an extension.
    for args in (["--format", fmt], ["-o", f"duck.{fmt}"]):
        result = run(binary, "generate", "duck.png", *args, *FAST, "--json", cwd=photos)
        assert result.returncode == 0, result.stderr
        assert photo.read_bytes() == original, f"{fmt} {args}: the input photo was overwritten"
        files = [Path(name).name for name in json.loads(result.stdout)["files"]]
        assert "duck.png" not in files, files
    names = sorted(path.name for path in photos.iterdir())
    expected = {
        "glb": ["duck.glb", "duck.png"],
        "gltf": ["duck.bin", "duck.gltf", "duck.png", "duck_texture.png"],
        "obj": ["duck.mtl", "duck.obj", "duck.png", "duck_texture.png"],
        "stl": ["duck.png", "duck.stl"],
        "ply": ["duck.ply", "duck.png"],
    }[fmt]
    assert names == expected, "the second run replaced its own side files, and nothing else appeared"


def test_a_folder_turned_into_assets_in_place_keeps_every_picture(binary, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    # A picture named like the texture of another one's asset.
    for name in ("duck.png", "duck_texture.png", "ring.jpg"):
        shutil.copy(EXAMPLES / ("ring.jpg" if name.endswith("jpg") else "duck.png"), photos / name)
    originals = {path.name: path.read_bytes() for path in photos.iterdir()}
    result = run(binary, "generate", str(photos), "-o", str(photos), "--format", "obj", *FAST, "--json")
    assert result.returncode == 0, result.stderr
    for name, data in originals.items():
        assert (photos / name).read_bytes() == data, f"{name} was overwritten"
    records = {Path(r["input"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    duck_files = [Path(name).name for name in records["duck.png"]["files"]]
    assert duck_files == ["duck_texture-2.png", "duck.mtl", "duck.obj"], duck_files
    assert "map_Kd duck_texture-2.png" in (photos / "duck.mtl").read_text()


# 3. Deleted history leaves no trace in the database -------------------------------------------


def test_deleted_generations_are_not_readable_in_the_database(binary, tmp_path, private_daemon):
    secret = tmp_path / "holiday-at-the-clinic-4b1d.png"
    shutil.copy(EXAMPLES / "duck.png", secret)
    ids = []
    for index in range(2):
        result = run(binary, "generate", str(secret), "-o", str(tmp_path / f"a{index}.glb"), *FAST, env=private_daemon)
        assert result.returncode == 0, result.stderr
    listing = json.loads(run(binary, "history", "list", "--json", env=private_daemon).stdout)
    ids = [entry["id"] for entry in listing["generations"]]
    assert len(ids) == 2
    database = Path(private_daemon["THREEDGPT_DATA_DIR"]) / "history"

    def database_text() -> bytes:
        return b"".join(path.read_bytes() for path in database.glob("history.db*"))

    assert b"holiday-at-the-clinic-4b1d" in database_text(), "the test must see the name while it is kept"
    assert run(binary, "history", "delete", ids[0], env=private_daemon).returncode == 0
    assert run(binary, "history", "clear", "--yes", env=private_daemon).returncode == 0
    assert run(binary, "daemon", "stop", env=private_daemon).returncode == 0
    strings = subprocess.run(
        ["strings", "-n", "8", *map(str, database.glob("history.db*"))], capture_output=True, text=True
    )
    assert "holiday-at-the-clinic" not in strings.stdout and "timings_ms" not in strings.stdout, strings.stdout[-2000:]
    assert b"holiday-at-the-clinic" not in database_text()


# 4. A full disk is said, and leaves nothing half-written --------------------------------------


@pytest.mark.disk_size("1m")
def test_a_full_output_disk_fails_cleanly_with_no_side_files_left(binary, small_disk):
    # The texture fits on the 1 MiB disk, the buffer beside it does not.
    target = small_disk / "duck.gltf"
    result = run(binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(target), "--faces", "60000")
    assert result.returncode == 1, result.stderr
    assert "No space left" in result.stderr or "disk is not full" in result.stderr, result.stderr
    assert list(small_disk.iterdir()) == [], "files were left behind after the disk filled"


def test_generations_on_a_full_history_disk_finish_with_a_warning(binary, tmp_path, small_disk):
    runtime = tmp_path / "runtime-full"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "THREEDGPT_RUNTIME_DIR": str(runtime), "THREEDGPT_DATA_DIR": str(small_disk)}
    try:
        warned = []
        for index in range(8):
            output = tmp_path / f"full-{index}.glb"
            result = run(binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(output), "--json", env=env)
            assert result.returncode == 0, result.stderr
            assert output.exists()
            record = json.loads(result.stdout)
            if record["warnings"]:
                warned.append(index)
                assert "could not be kept in the history" in record["warnings"][0], record["warnings"]
                assert "warning: this generation could not be kept in the history" in result.stderr, result.stderr
        assert warned, "the history disk never filled: make the generations larger"
        assert warned == list(range(warned[0], 8)), f"every generation after the disk filled warns: {warned}"
    finally:
        run(binary, "daemon", "stop", env=env, timeout=60)


# 5. The client trusts only its own daemon -----------------------------------------------------

FAKE_SERVER = r"""
import os, socket, sys
path, record, bind_as_root = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
out = open(record, "ab", buffering=0)
server = socket.socket(socket.AF_UNIX)
# The listener's credentials are taken at listen(): another user's, whoever made the file.
if bind_as_root:
    server.bind(path)
    os.chmod(path, 0o777)
os.setgid(65534)
os.setuid(65534)
if not bind_as_root:
    server.bind(path)
    os.chmod(path, 0o777)
server.listen(8)
with out:
    while True:
        connection, _ = server.accept()
        connection.settimeout(2)
        try:
            while data := connection.recv(65536):
                out.write(data)
        except OSError:
            pass
        connection.close()
"""


def squatted_folder(path: Path) -> None:
    """Makes `path` as the other user would: theirs, open enough for the victim to connect."""
    path.mkdir()
    os.chown(path, NOBODY, NOBODY)
    os.chmod(path, 0o755)


def fake_daemon(folder: Path, record: Path, python: str) -> subprocess.Popen:
    record.touch()
    os.chmod(record, 0o666)
    server = subprocess.Popen([python, "-c", FAKE_SERVER, str(folder / "daemon.sock"), str(record), "0"])
    for _ in range(100):
        if (folder / "daemon.sock").exists():
            return server
        time.sleep(0.05)
    server.kill()
    raise RuntimeError("the fake daemon did not come up")


def test_a_runtime_folder_made_by_another_user_is_refused_before_anything_is_sent(binary, tmp_path):
    import sys

    # No XDG_RUNTIME_DIR: the runtime folder is <temp>/3dgpt-<uid>, which anyone can make first.
    shared_tmp = Path(tempfile.mkdtemp(prefix="3dgpt-shared-tmp-", dir="/tmp"))
    os.chmod(shared_tmp, 0o1777)
    folder = shared_tmp / f"3dgpt-{os.getuid()}"
    squatted_folder(folder)
    record = tmp_path / "received.bin"
    server = fake_daemon(folder, record, sys.executable)
    env = {key: value for key, value in os.environ.items() if key not in ("THREEDGPT_RUNTIME_DIR", "XDG_RUNTIME_DIR")}
    env["TMPDIR"] = str(shared_tmp)
    try:
        mask = tmp_path / "mask.png"
        shutil.copy(EXAMPLES / "duck.png", mask)
        for args in (
            ["daemon", "status"],
            ["generate", str(EXAMPLES / "duck.png"), "-o", str(tmp_path / "x.glb"), "--mask", str(mask)],
            ["history", "download", "gen-1", "-o", str(tmp_path / "downloaded.glb")],
        ):
            started = time.monotonic()
            result = run(binary, *args, env=env, timeout=60)
            assert result.returncode == 1, (args, result.stdout, result.stderr)
            assert str(folder) in result.stderr and "belongs to uid 65534" in result.stderr, result.stderr
            assert time.monotonic() - started < 5, "the client must say at once, not wait for a daemon"
        time.sleep(0.3)
        assert record.read_bytes() == b"", "the client sent something to another user's server"
        assert not (tmp_path / "x.glb").exists() and not (tmp_path / "downloaded.glb").exists()
    finally:
        server.kill()
        shutil.rmtree(shared_tmp, ignore_errors=True)


def test_a_socket_served_by_another_user_in_the_users_own_folder_is_refused(binary, tmp_path):
    import sys

    # The folder and the socket file are this user's, but the process listening is not.
    folder = tmp_path / "own-runtime"
    folder.mkdir(mode=0o700)
    record = tmp_path / "received.bin"
    record.touch()
    os.chmod(record, 0o666)
    server = subprocess.Popen([sys.executable, "-c", FAKE_SERVER, str(folder / "daemon.sock"), str(record), "1"])
    try:
        for _ in range(100):
            if (folder / "daemon.sock").exists():
                break
            time.sleep(0.05)
        time.sleep(0.2)
        env = {**os.environ, "THREEDGPT_RUNTIME_DIR": str(folder)}
        result = run(binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(tmp_path / "x.glb"), env=env)
        assert result.returncode == 1, result.stderr
        assert "runs as uid 65534" in result.stderr and "nothing was sent" in result.stderr, result.stderr
        time.sleep(0.3)
        assert record.read_bytes() == b"", "the client sent something to another user's server"
    finally:
        server.kill()


def test_an_unreachable_daemon_is_explained_at_once_and_exits_1(binary, tmp_path):
    # The runtime folder cannot be made (a file is in the way): the started daemon says why.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    env = {**os.environ, "THREEDGPT_RUNTIME_DIR": str(blocker / "runtime")}
    started = time.monotonic()
    result = run(binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(tmp_path / "x.glb"), env=env, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "could not create the runtime folder" in result.stderr, result.stderr
    assert "transport error" not in result.stderr
    assert time.monotonic() - started < 8, "the client waited for a daemon that had already given up"
    # Nothing listening and no autostart: said plainly.
    result = run(binary, "daemon", "stop", env={**os.environ, "THREEDGPT_RUNTIME_DIR": str(tmp_path / "empty")})
    assert result.returncode == 0 and "not running" in result.stdout


# 6. Text from the daemon cannot forge rows or drive the terminal ------------------------------


def test_control_characters_from_the_daemon_are_printed_escaped(binary, tmp_path, private_daemon):
    evil = tmp_path / "duck\nFAKE-ROW\tgen-0000000000000-deadbeef\x1b[2J\x1b]0;owned\x07.png"
    shutil.copy(EXAMPLES / "duck.png", evil)
    result = run(binary, "generate", str(evil), "-o", str(tmp_path / "evil.glb"), *FAST, env=private_daemon)
    assert result.returncode == 0, result.stderr
    for args in (["history", "list"], ["jobs", "list"]):
        listing = run(binary, *args, env=private_daemon)
        assert listing.returncode == 0, listing.stderr
        assert "\x1b" not in listing.stdout and "\x07" not in listing.stdout, repr(listing.stdout)
        rows = [row for row in listing.stdout.splitlines() if row.strip()]
        assert not any(row.startswith("FAKE-ROW") for row in rows), rows
        assert any("duck\\nFAKE-ROW\\t" in row for row in rows), rows
    assert "\x1b" not in result.stderr


# 8. Nobody can starve the daemon of file handles ----------------------------------------------


def test_a_connection_flood_under_a_low_file_limit_neither_locks_the_owner_out_nor_floods_the_log(binary, tmp_path):
    runtime = tmp_path / "runtime-flood"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "THREEDGPT_RUNTIME_DIR": str(runtime), "THREEDGPT_DATA_DIR": str(tmp_path / "data-flood")}
    daemon = subprocess.Popen(
        ["prlimit", "--nofile=256:256", str(binary), "serve", "--idle-timeout", "0", "--tcp", "127.0.0.1:0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    idle: list[socket.socket] = []
    try:
        for _ in range(200):
            if (runtime / "tcp-address").exists() and (runtime / "daemon.sock").exists():
                break
            time.sleep(0.05)
        host, port = (runtime / "tcp-address").read_text().rsplit(":", 1)
        # 300 idle socket connections (this user's own, a careless script) and 1,100 on loopback
        # TCP without a token: together far past the daemon's 256 file handles.
        for _ in range(300):
            connection = socket.socket(socket.AF_UNIX)
            connection.connect(str(runtime / "daemon.sock"))
            idle.append(connection)
        for _ in range(1100):
            try:
                idle.append(socket.create_connection((host, int(port)), timeout=5))
            except OSError:
                break  # The client side's own limit; the daemon's is what matters.
        time.sleep(1.5)
        started = time.monotonic()
        result = run(binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(tmp_path / "owner.glb"), *FAST, env=env)
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < 60
        # The unauthenticated TCP connections were closed after the handshake deadline.
        time.sleep(6)
        tcp = [connection for connection in idle if connection.family == socket.AF_INET]
        closed = 0
        for connection in tcp[:50]:
            connection.settimeout(0.5)
            try:
                # An admitted connection got the daemon's HTTP/2 settings first, then its end.
                while connection.recv(4096):
                    pass
                closed += 1
            except TimeoutError:
                pass
            except OSError:
                closed += 1
        assert closed == len(tcp[:50]), f"only {closed} of {len(tcp[:50])} idle TCP connections were closed"
        log = runtime / "daemon.log"
        assert log.stat().st_size < 1 << 20, f"the log grew to {log.stat().st_size} bytes"
        assert daemon.poll() is None, "the daemon died"
    finally:
        for connection in idle:
            connection.close()
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)


# 9, 10. Bad files are refused before they are read whole --------------------------------------


def test_a_huge_sparse_file_and_a_device_are_refused_at_once(binary, tmp_path):
    sparse = tmp_path / "huge.png"
    with open(sparse, "wb") as out:
        out.truncate(3 << 30)
    for path, expected in ((sparse, "pictures are limited to 256 MiB"), (Path("/dev/zero"), "not a regular file")):
        started = time.monotonic()
        result = run(binary, "generate", str(path), "-o", str(tmp_path / "x.glb"), timeout=60)
        assert result.returncode == 1 and expected in result.stderr, result.stderr
        assert time.monotonic() - started < 20


def test_truncated_jpegs_are_refused_as_truncated(binary, tmp_path):
    whole = (EXAMPLES / "ring.jpg").read_bytes()
    for share in (1 / 3, 0.95):
        cut = tmp_path / f"cut-{int(share * 100)}.jpg"
        cut.write_bytes(whole[: int(len(whole) * share)])
        result = run(binary, "generate", str(cut), "-o", str(tmp_path / "x.glb"))
        assert result.returncode == 1, result.stderr
        assert "the file is truncated" in result.stderr, result.stderr
        assert not (tmp_path / "x.glb").exists()


# 12. Detached jobs left by a killed daemon are told of ----------------------------------------


def test_detached_jobs_a_killed_daemon_left_are_listed_as_failed(binary, tmp_path, private_daemon):
    slow = ["--grid", "2048"]
    ids = []
    for index in range(3):
        result = run(
            binary,
            "generate",
            str(EXAMPLES / "duck.png"),
            "-o",
            str(tmp_path / f"d{index}.glb"),
            *slow,
            "--detach",
            env=private_daemon,
        )
        assert result.returncode == 0, result.stderr
        ids.append(result.stdout.strip())
    assert all(re.fullmatch(r"job-\d+-\d+", job) for job in ids), ids
    pid = json.loads(run(binary, "daemon", "status", "--json", env=private_daemon).stdout)["pid"]
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    listing = run(binary, "jobs", "list", "--json", env=private_daemon)
    assert listing.returncode == 0, listing.stderr
    jobs = {job["job_id"]: job for job in json.loads(listing.stdout)}
    for job in ids:
        assert job in jobs, f"{job} vanished: {jobs}"
        assert jobs[job]["state"] == "failed" and "the daemon stopped" in jobs[job]["error"], jobs[job]
    watched = run(binary, "jobs", "watch", ids[0], env=private_daemon)
    assert watched.returncode == 1 and "the daemon stopped" in watched.stderr, watched.stderr


def test_exit_code_2_is_for_usage_errors_only(binary, tmp_path):
    assert run(binary, "generate", "--no-such-flag").returncode == 2
    assert run(binary, "generate", str(EXAMPLES / "duck.png"), "--faces", "0").returncode == 2
    # Run-time failures (a missing picture) are 1.
    assert run(binary, "generate", str(tmp_path / "missing.png"), "-o", str(tmp_path / "x.glb")).returncode == 1
    assert run(binary, "history", "show", "gen-0000000000000-00000000").returncode == 1


def test_a_mask_larger_than_one_message_is_streamed(binary, tmp_path):
    import numpy as np
    from PIL import Image

    # A 6000 px mask of the duck's outline with noise in its low bits: over 8 MiB as a PNG.
    alpha = np.asarray(Image.open(EXAMPLES / "duck.png").convert("RGBA").getchannel("A").resize((6000, 6000)))
    noise = np.random.default_rng(7).integers(0, 4, size=alpha.shape, dtype=np.uint8)
    mask = np.where(alpha > 127, 252 + noise, noise).astype(np.uint8)
    path = tmp_path / "big-mask.png"
    Image.fromarray(mask, "L").save(path, compress_level=1)
    assert path.stat().st_size > 8 << 20, path.stat().st_size
    output = tmp_path / "masked.glb"
    result = run(
        binary, "generate", str(EXAMPLES / "duck.png"), "-o", str(output), "--mask", str(path), *FAST, "--json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["record"]["mask"] == "mask_image"
