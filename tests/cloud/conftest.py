"""Fixtures for the cloud service's tests: the real servers its storage runs on (a private
PostgreSQL cluster and an S3-protocol server, one each per test run), and the storage a test's
server uses, SQLite with a folder or PostgreSQL with S3."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL cluster for the cloud tests."""
    from services import Postgres

    cluster = Postgres()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def s3():
    """An S3-protocol server (moto) for the cloud tests."""
    from services import S3

    server = S3()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request):
    """The cloud's storage: SQLite and a folder, then PostgreSQL and S3."""
    from cloudclient import Storage

    if request.param == "postgres":
        return Storage("postgres", request.getfixturevalue("postgres"), request.getfixturevalue("s3"))
    return Storage("sqlite")
