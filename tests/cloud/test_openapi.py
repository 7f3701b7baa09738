"""The OpenAPI document at /openapi.json describes the real `3dgpt-cloud`, checked by schemathesis
(property-based requests, bounded with --max-examples): no request it makes gets a 5xx, and every
answer has a documented status, content type and schema — with no token and with a live one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cloudclient import Account, Server

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


@pytest.fixture
def cloud(tmp_path):
    server = Server(tmp_path / "cloud")
    yield server
    server.stop()


def test_the_document_describes_every_call(cloud):
    status, document = cloud.call("GET", "/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.1")
    paths = document["paths"]
    for path in ("/v1/accounts", "/v1/sessions/refresh", "/v1/blobs/{name}", "/v1/changes", "/v1/account/export"):
        assert path in paths, path
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "default" in paths["/v1/records/{id}"]["put"]["responses"], "errors are documented"


@pytest.mark.parametrize("authenticated", [False, True])
def test_schemathesis_finds_no_server_error_and_no_schema_violation(cloud, authenticated, tmp_path):
    command = [str(Path(sys.executable).parent / "schemathesis"), "run", cloud.base + "/openapi.json"]
    command += ["--checks", CHECKS, "--max-examples", "25", "--no-color", "--seed", "3"]
    if authenticated:
        ada = Account(cloud, "ada@example.org").signup().login()
        # Signing out would leave the rest of the run without a session.
        command += ["-H", f"Authorization: Bearer {ada.access}", "--exclude-operation-id", "logout"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    cloud.stop()
    assert "panicked" not in cloud.log
