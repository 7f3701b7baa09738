"""The cloud service's numbers for the README's table, measured on the release `3dgpt-cloud` on
loopback: list-since-cursor requests/s (wrk, SQLite and PostgreSQL), blob uploads/s and a sync of
1,000 records with their blobs (a Python client), and what a login costs with the real argon2id
parameters. Client and server share this machine's cores, so these are lower bounds.

Run through scripts/bench.sh, which builds the release binary first. Prints a Markdown table."""

from __future__ import annotations

import base64
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cloud"))
os.environ.setdefault("THREEDGPT_CLOUD_BIN", str(ROOT / "target" / "release" / "3dgpt-cloud"))
from cloudclient import Account, Server, blob_name, seal  # noqa: E402
from services import Postgres  # noqa: E402

RECORDS = 1000


def wrk(url: str, token: str, seconds: int = 10) -> float:
    """Requests per second wrk reaches on a GET with the token (2 threads, 32 connections)."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is missing: scripts/bench.sh installs Debian's wrk")
    result = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "-H", f"Authorization: Bearer {token}", url],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in result.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            non_2xx = [line for line in result.stdout.splitlines() if "Non-2xx" in line]
            if non_2xx:
                raise RuntimeError(f"wrk saw errors: {non_2xx}")
            return float(line.split()[1])
    raise RuntimeError(result.stdout)


def upload_all(account: Account, count: int, size: int, workers: int = 8) -> float:
    """Seconds to upload `count` sealed blobs of `size` bytes and a record for each."""
    url = urlparse(account.server.base)
    items = []
    for index in range(count):
        sealed = seal(account.data_key, os.urandom(size))
        record = base64.b64encode(seal(account.data_key, f'{{"generation": {index}}}'.encode())).decode()
        items.append((f"gen-{index}", sealed, record))

    def send(chunk):
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        headers = {"Authorization": f"Bearer {account.access}"}
        for generation, sealed, record in chunk:
            connection.request("PUT", f"/v1/blobs/{blob_name(sealed)}", sealed, headers)
            assert connection.getresponse().read() is not None
            body = f'{{"device_id": "bench", "sealed": "{record}", "blobs": ["{blob_name(sealed)}"]}}'
            connection.request(
                "PUT", f"/v1/records/{generation}", body, {**headers, "Content-Type": "application/json"}
            )
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
        connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(send, [items[index::workers] for index in range(workers)]))
    return time.perf_counter() - started


def measure(name: str, server: Server) -> list[tuple[str, str]]:
    rows = []
    try:
        ada = Account(server, f"bench-{name}@example.org").signup().login()
        seconds = upload_all(ada, RECORDS, 64 * 1024)
        rows.append(
            (
                f"sync up {RECORDS} records + 64 KiB blobs, 8 clients ({name})",
                f"{seconds:.1f} s ({2 * RECORDS / seconds:.0f} requests/s)",
            )
        )
        other = Account(server, ada.email, id=ada.id, data_key=ada.data_key).login("second device")
        started = time.perf_counter()
        cursor, pulled = 0, 0
        while True:
            status, page = other.call("GET", f"/v1/changes?since={cursor}&limit=1000")
            pulled += len(page["changes"])
            cursor = page["cursor"]
            if not page["more"]:
                break
        for change in page["changes"][:100]:
            other.call("GET", f"/v1/blobs/{change['blobs'][0]}")
        assert pulled == RECORDS
        rows.append(
            (
                f"sync down: list {RECORDS} changes + fetch 100 blobs ({name})",
                f"{(time.perf_counter() - started) * 1000:.0f} ms",
            )
        )
        rps = wrk(f"{server.base}/v1/changes?since={RECORDS - 10}&limit=100", other.access)
        rows.append((f"list-since-cursor, 10 changes per page, wrk 32 connections ({name})", f"{rps:,.0f} requests/s"))
    finally:
        server.stop()
    return rows


def login_cost() -> tuple[str, str]:
    folder = Path(tempfile.mkdtemp(prefix="3dgpt-bench-cloud-"))
    server = Server(folder / "data", cheap=False)
    try:
        pre = server.call("POST", "/v1/accounts/prelogin", {"email": "login@example.org"})[1]
        kdf = {key: pre["kdf"][key] for key in ("memory_kib", "iterations", "parallelism")}
        ada = Account(server, "login@example.org", kdf=kdf).signup()
        body = {"email": ada.email, "auth_key": ada.auth_key().hex()}
        times = []
        for _ in range(7):
            started = time.perf_counter()
            status, _ = server.call("POST", "/v1/sessions", body)
            times.append(time.perf_counter() - started)
            assert status == 200
        derive = time.perf_counter()
        ada.auth_key()
        client = time.perf_counter() - derive
        params = f"m={kdf['memory_kib']} KiB, t={kdf['iterations']}, p={kdf['parallelism']}"
        return (
            f"login: server argon2id of the auth key ({params}); the device's own derivation",
            f"{statistics.median(times) * 1000:.0f} ms; {client * 1000:.0f} ms",
        )
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="3dgpt-bench-cloud-"))
    # The Free tier's 100 generations would stop the sync at a tenth.
    config = folder / "cloud.toml"
    config.write_text("[tiers.free]\nbytes = 10737418240\ngenerations = 100000\n")
    rows += measure("SQLite", Server(folder / "sqlite", "--config", str(config)))
    postgres = Postgres()
    try:
        _, url = postgres.database()
        rows += measure("PostgreSQL", Server(folder / "postgres", "--database", url, "--config", str(config)))
    finally:
        postgres.stop()
    rows.append(login_cost())
    shutil.rmtree(folder, ignore_errors=True)
    print("\n| cloud measurement | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
