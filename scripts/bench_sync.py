"""Sync end to end for the README's table: 1,000 generations made on device A (signed out, so
they wait), then A signs up and uploads them, and device B logs in and brings them all down with
their files — two release `3dgpt` daemons with their own data folders and a release
`3dgpt-cloud`, all on loopback and sharing this machine's cores. Also A's idle memory once synced
(signed in, sync on). Run through scripts/bench.sh, which builds the release binaries first."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cloud"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
os.environ.setdefault("THREEDGPT_CLOUD_BIN", str(ROOT / "target" / "release" / "3dgpt-cloud"))
from cloudclient import Server  # noqa: E402
from devices import Device  # noqa: E402

GENERATIONS = int(os.environ.get("BENCH_SYNC_GENERATIONS", "1000"))
PASSWORD = "correct horse battery staple"
BINARY = ROOT / "target" / "release" / "3dgpt"


def pictures(folder: Path) -> list[Path]:
    """Distinct small pictures (a different shade each), so no two generations share a blob."""
    duck = Image.open(ROOT / "examples" / "duck.png").convert("RGBA").resize((160, 160))
    paths = []
    for index in range(GENERATIONS):
        picture = duck.copy()
        picture.putpixel((80, 80), (index % 256, index // 256, 7, 255))
        path = folder / f"p{index:04}.png"
        picture.save(path)
        paths.append(path)
    return paths


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="3dgpt-bench-sync-"))
    # The Free tier keeps 100 generations: this account gets room for all of them.
    config = folder / "cloud.toml"
    config.write_text(f"[tiers.free]\nbytes = {100 << 30}\ngenerations = {GENERATIONS * 10}\n")
    cloud = Server(folder / "cloud", "--config", str(config), cheap=False)
    a = Device(BINARY, folder, "a", "--sync-interval", "3600")
    b = Device(BINARY, folder, "b", "--sync-interval", "3600")
    try:
        inputs = pictures(folder)
        started = time.perf_counter()
        out = folder / "out"
        out.mkdir()
        for start in range(0, len(inputs), 200):
            batch = [str(path) for path in inputs[start : start + 200]]
            a.cli("generate", *batch, "-o", str(out), "--faces", "200", "--grid", "48", "--texture-size", "256")
        made = time.perf_counter() - started
        sizes = sum(path.stat().st_size for path in (a.data / "history" / "blobs").rglob("*") if path.is_file())

        started = time.perf_counter()
        a.cli("account", "signup", "--server", cloud.base, "--email", "bench@example.com", "--name", "Bench",
              "--birth-date", "1990-05-17", "--password-stdin", password=PASSWORD)  # fmt: skip
        report = json.loads(a.cli("sync", "now", "--json").stdout)
        up = time.perf_counter() - started
        assert report["pending_uploads"] == 0 and report["state"] == "idle", report

        started = time.perf_counter()
        b.cli("account", "login", "--server", cloud.base, "--email", "bench@example.com", "--password-stdin",
              password=PASSWORD)  # fmt: skip
        report = json.loads(b.cli("sync", "now", "--json").stdout)
        down = time.perf_counter() - started
        listed = json.loads(b.cli("history", "list", "--limit", str(GENERATIONS), "--json").stdout)["total"]
        assert listed == GENERATIONS, (listed, report)

        time.sleep(5)
        idle_a, idle_b = rss_mb(a.process.pid), rss_mb(b.process.pid)
        # A fresh daemon, signed in with sync on, after a round that finds everything in sync.
        a.stop()
        a.start()
        a.cli("sync", "now")
        time.sleep(5)
        idle = rss_mb(a.process.pid)
        print(f"| measurement ({GENERATIONS} generations, {sizes / 1e6:.1f} MB of history) | target | result |")
        print("|---|---|---|")
        print(f"| make them on A (signed out; `3dgpt generate`, 200 a call) | | {made:.1f} s |")
        print(
            f"| A signs up and uploads them all (sign-up, then `sync now`) | | {up:.1f} s ({GENERATIONS / up:.0f}/s) |"
        )
        print(f"| B logs in and downloads them all with their files | | {down:.1f} s ({GENERATIONS / down:.0f}/s) |")
        print(f"| end to end, A's first upload to B's last download | | {up + down:.1f} s |")
        print(f"| idle memory, signed in with sync on, after a round (RSS, fresh daemon) | ≤ 30 MB | {idle:.1f} MB |")
        print(f"| — B idle after downloading all | | {idle_b:.1f} MB |")
        print(f"| — A idle after making and uploading all | | {idle_a:.1f} MB |")
    finally:
        a.stop()
        b.stop()
        cloud.stop()


if __name__ == "__main__":
    main()
