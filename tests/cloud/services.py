"""Real servers the cloud tests run against, started here and stopped at the end: a private
PostgreSQL cluster (Debian's server, as an unprivileged user, on a free loopback port), an
S3-protocol server (moto) and an SMTP sink (aiosmtpd). None is skipped when it cannot start:
the tests fail and say why."""

from __future__ import annotations

import glob
import mailbox
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

POSTGRES_USER = "pgtest"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is missing: scripts/test.sh installs Debian's postgresql")
    return found[-1]


class Postgres:
    """A throw-away cluster; `database()` makes a fresh database and answers its URL."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="3dgpt-postgres-"))
        self.port = free_port()
        self.count = 0
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: it runs as a system user made for the tests.
            try:
                pwd.getpwnam(POSTGRES_USER)
            except KeyError:
                subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", POSTGRES_USER], check=True)
            shutil.chown(self.folder, POSTGRES_USER)
            self.as_user = ["runuser", "-u", POSTGRES_USER, "--"]
        cluster = self.folder / "cluster"
        self.run(postgres_bin("initdb"), "-D", str(cluster), "-U", "postgres", "-A", "trust", "--no-sync")
        options = f"-k {self.folder} -p {self.port} -h 127.0.0.1 -c fsync=off"
        self.run(
            postgres_bin("pg_ctl"), "-D", str(cluster), "-o", options, "-l", str(self.folder / "log"), "-w", "start"
        )
        self.cluster = cluster

    def run(self, *command: str) -> str:
        result = subprocess.run([*self.as_user, *command], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {result.stdout}{result.stderr}")
        return result.stdout

    def sql(self, database: str, statement: str) -> str:
        return self.run(
            postgres_bin("psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-At",
            "-c",
            statement,
        ).strip()

    def database(self) -> tuple[str, str]:
        self.count += 1
        name = f"cloud_{self.count}"
        self.sql("postgres", f"CREATE DATABASE {name}")
        return name, f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, postgres_bin("pg_ctl"), "-D", str(self.cluster), "-m", "fast", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


class S3:
    """moto's S3-protocol server; `bucket()` makes a fresh bucket."""

    def __init__(self) -> None:
        self.port = free_port()
        binary = Path(sys.executable).parent / "moto_server"
        self.process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.endpoint = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/", timeout=5).read()
                break
            except OSError as error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    stderr = self.process.stderr.read().decode()
                    raise RuntimeError(f"moto_server did not start: {stderr}") from error
                time.sleep(0.2)
        import boto3

        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )
        self.count = 0

    def environment(self) -> dict:
        return {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
        }

    def bucket(self) -> str:
        self.count += 1
        name = f"cloud-blobs-{self.count}"
        self.client.create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=bucket)
        return [item["Key"] for item in listed.get("Contents", [])]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class MailSink:
    """aiosmtpd on a free loopback port, keeping what it receives in a Maildir."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}", "-c", "aiosmtpd.handlers.Mailbox"]
            + [str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError as error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"aiosmtpd did not start: {self.process.stderr.read().decode()}") from error
                time.sleep(0.1)

    def messages(self) -> list:
        return list(mailbox.Maildir(self.folder, create=True).values())

    def wait_for(self, count: int, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages()
            if len(messages) >= count:
                return messages
            time.sleep(0.1)
        raise AssertionError(f"{count} mails expected, {len(self.messages())} arrived")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
