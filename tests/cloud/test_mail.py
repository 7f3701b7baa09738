"""Email verification on a real `3dgpt-cloud` with a local SMTP sink (aiosmtpd): a new account is
mailed a link and syncs only once it is followed; a taken email gets the same answer and no mail;
a changed address needs verifying again. Without SMTP the server says at start that it skips it."""

from __future__ import annotations

import re

import pytest
from cloudclient import Account, Server, blob_name, seal
from services import MailSink


@pytest.fixture
def mail(tmp_path):
    sink = MailSink(tmp_path / "maildir")
    yield sink
    sink.stop()


@pytest.fixture
def cloud(tmp_path, mail):
    config = tmp_path / "cloud.toml"
    config.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {mail.port}\nsecurity = "none"\n'
        'from = "3D GPT <noreply@example.org>"\nverify_url = "https://cloud.example.org/verify"\n'
    )
    server = Server(tmp_path / "cloud", "--config", str(config))
    yield server
    server.stop()


def token_in(message) -> str:
    body = message.get_payload(decode=True).decode()
    match = re.search(r"https://cloud\.example\.org/verify\?token=([0-9a-f]{64})", body)
    assert match, body
    return match.group(1)


def upload(account: Account):
    sealed = seal(account.data_key, b"a picture")
    return account.call("PUT", f"/v1/blobs/{blob_name(sealed)}", sealed)


def test_a_new_account_syncs_once_its_email_is_verified(cloud, mail):
    ada = Account(cloud, "ada@example.org").signup().login()
    assert ada.call("GET", "/v1/account")[1]["email_verified"] is False
    status, body = upload(ada)
    assert status == 403 and body["code"] == "email_unverified", body

    (message,) = mail.wait_for(1)
    assert message["To"] == "ada@example.org" and "Verify" in message["Subject"]
    token = token_in(message)
    status, body = cloud.call("POST", "/v1/accounts/verify", {"token": "0" * 64})
    assert status == 400 and body["code"] == "invalid_token"
    assert cloud.call("GET", f"/v1/accounts/verify?token={token}")[0] == 200
    assert ada.call("GET", "/v1/account")[1]["email_verified"] is True
    assert upload(ada)[0] == 201
    assert cloud.call("POST", "/v1/accounts/verify", {"token": token})[0] == 400, "a link works once"

    # A taken email: the same answer, and no mail that would tell its owner's inbox apart.
    again = cloud.call("POST", "/v1/accounts", Account(cloud, "ada@example.org").signup_body())
    assert again[0] == 202
    assert len(mail.messages()) == 1

    # A new address is verified again before sync goes on.
    change = {"auth_key": ada.auth_key().hex(), "email": "ada.new@example.org"}
    assert ada.call("POST", "/v1/account/email", change)[1]["email_verified"] is False
    assert upload(ada)[1]["code"] == "email_unverified"
    messages = mail.wait_for(2)
    new = next(message for message in messages if message["To"] == "ada.new@example.org")
    assert cloud.call("POST", "/v1/accounts/verify", {"token": token_in(new)})[0] == 200
    assert ada.call("GET", "/v1/account")[1]["email_verified"] is True


def test_a_lost_mail_can_be_sent_again(cloud, mail):
    ada = Account(cloud, "ada@example.org").signup().login()
    mail.wait_for(1)
    assert ada.call("POST", "/v1/account/verification")[0] == 202
    tokens = {token_in(message) for message in mail.wait_for(2)}
    assert len(tokens) == 2, "each mail has its own link"


def test_without_smtp_the_server_says_it_skips_verification(tmp_path):
    cloud = Server(tmp_path / "cloud")
    ada = Account(cloud, "ada@example.org").signup().login()
    assert ada.call("GET", "/v1/account")[1]["email_verified"] is True
    cloud.stop()
    assert "no SMTP server is configured" in cloud.log
