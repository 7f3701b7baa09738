"""A bounded load test: 20 devices (5 accounts × 4) sync at once against a real `3dgpt-cloud`,
each uploading its generations, deleting some and pulling changes by cursor while the others
write. Nothing is lost: every device's view, built only from the changes it pulled, ends equal
to the account's whole history, and every blob opens. The p99 latency is printed."""

from __future__ import annotations

import base64
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from cloudclient import Account, blob_name, open_sealed, seal

ACCOUNTS, DEVICES, GENERATIONS, DELETED = 5, 4, 10, 2


@pytest.fixture
def cloud(storage, tmp_path):
    server = storage.server(tmp_path / "cloud")
    yield server
    server.stop()


class Device:
    def __init__(self, account: Account, number: int, latencies: list, lock: threading.Lock):
        self.account, self.number = account, number
        self.latencies, self.lock = latencies, lock
        self.cursor = 0
        self.view: dict[str, bool] = {}  # generation id → deleted

    def call(self, method: str, path: str, body=None):
        started = time.monotonic()
        status, answer = self.account.call(method, path, body)
        with self.lock:
            self.latencies.append(time.monotonic() - started)
        assert status < 500, (method, path, status, answer)
        return status, answer

    def pull(self) -> None:
        while True:
            status, page = self.call("GET", f"/v1/changes?since={self.cursor}&limit=7")
            assert status == 200, page
            for change in page["changes"]:
                self.view[change["id"]] = change["deleted"]
            self.cursor = page["cursor"]
            if not page["more"]:
                return

    def sync(self) -> None:
        mine = []
        for index in range(GENERATIONS):
            generation = f"d{self.number}-g{index}"
            sealed = seal(self.account.data_key, f"{generation} ".encode() + os.urandom(2000))
            assert self.call("PUT", f"/v1/blobs/{blob_name(sealed)}", sealed)[0] == 201
            record = {"device_id": f"device-{self.number}", "blobs": [blob_name(sealed)]}
            record["sealed"] = base64.b64encode(seal(self.account.data_key, generation.encode())).decode()
            status, body = self.call("PUT", f"/v1/records/{generation}", record)
            assert status == 200, body
            mine.append(generation)
            if index % 3 == 0:
                self.pull()
        for generation in mine[:DELETED]:
            assert self.call("DELETE", f"/v1/records/{generation}")[0] == 204
        self.pull()


def test_twenty_devices_syncing_at_once_lose_nothing(cloud):
    latencies: list[float] = []
    lock = threading.Lock()
    devices = []
    for number in range(ACCOUNTS):
        first = Account(cloud, f"user{number}@example.org").signup()
        for device in range(DEVICES):
            session = Account(cloud, first.email, id=first.id, data_key=first.data_key).login(f"device {device}")
            devices.append(Device(session, number * DEVICES + device, latencies, lock))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        for future in [pool.submit(device.sync) for device in devices]:
            future.result()
    elapsed = time.monotonic() - started

    for device in devices:
        device.pull()
        status, full = device.call("GET", "/v1/changes?since=0")
        assert status == 200 and not full["more"]
        whole = {change["id"]: change["deleted"] for change in full["changes"]}
        assert device.view == whole, f"device {device.number} missed changes"
        assert len(whole) == DEVICES * GENERATIONS and sum(whole.values()) == DEVICES * DELETED
    for change in full["changes"]:
        if not change["deleted"]:
            (name,) = change["blobs"]
            sealed = devices[-1].call("GET", f"/v1/blobs/{name}")[1]
            assert open_sealed(devices[-1].account.data_key, sealed).startswith(change["id"].encode())
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"\n{len(latencies)} requests from {len(devices)} devices in {elapsed:.1f} s; p99 {p99 * 1000:.0f} ms")
