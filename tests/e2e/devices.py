"""Devices of one person for the account and sync tests: a real daemon with its own data folder
and key file each, driven through its CLI; and a proxy in front of the cloud service that counts
what each device sends (and can hold a request, as a connection that hangs)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Device:
    """One daemon with its own data folder and key file (so its own keys), and its CLI."""

    def __init__(self, binary: Path, folder: Path, name: str, *serve_args: str):
        self.binary, self.name, self.serve_args = binary, name, serve_args
        self.runtime = folder / f"{name}-runtime"
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        self.data = folder / f"{name}-data"
        self.env = {**os.environ, "THREEDGPT_RUNTIME_DIR": str(self.runtime), "THREEDGPT_DATA_DIR": str(self.data)}
        self.key_file = self.data / "keys" / "history.key"
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(self.binary), "serve", "--idle-timeout", "0", "--key-file", str(self.key_file), *self.serve_args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not (self.runtime / "daemon.sock").exists():
            assert self.process.poll() is None and time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.05)

    def cli(self, *args: str, password: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(self.binary), *args],
            env=self.env,
            input=password + "\n" if password is not None else None,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check:
            assert result.returncode == 0, f"{args}: {result.stderr}"
        return result

    def json(self, *args: str) -> dict:
        return json.loads(self.cli(*args, "--json").stdout)

    def status(self) -> dict:
        return self.json("account", "status")

    def kill(self) -> None:
        """Ends the daemon at once (SIGKILL): nothing gets to finish."""
        self.process.kill()
        self.process.wait(timeout=30)
        (self.runtime / "daemon.sock").unlink(missing_ok=True)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.cli("daemon", "stop", check=False)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


class CountingProxy:
    """Forwards HTTP to `target` and counts requests as "METHOD /first/two" (path without ids).
    `hold(prefix)` makes matching requests wait (without an answer) until `release()`."""

    def __init__(self, target: str):
        self.target = urllib.parse.urlsplit(target)
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.held_prefix: str | None = None
        self.holding = threading.Event()
        self.released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path = urllib.parse.urlsplit(self.path).path
                key = f"{self.command} " + "/".join(path.split("/")[:3])
                with proxy.lock:
                    proxy.counts[key] = proxy.counts.get(key, 0) + 1
                if proxy.held_prefix and f"{self.command} {path}".startswith(proxy.held_prefix):
                    proxy.holding.set()
                    proxy.released.wait(120)
                    self.close_connection = True
                    return
                upstream = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, prefix: str = "") -> int:
        with self.lock:
            return sum(n for key, n in self.counts.items() if key.startswith(prefix))

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()

    def hold(self, prefix: str) -> None:
        self.held_prefix = prefix
        self.holding.clear()
        self.released.clear()

    def release(self) -> None:
        self.held_prefix = None
        self.released.set()

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
