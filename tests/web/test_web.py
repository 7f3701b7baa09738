"""The web pages in real Chromium, against a real `3dgpt-cloud` and real daemons: sign-up (and the
age gate), sign-in, the gallery of a daemon's synced generations decrypted in the browser, the 3D
viewer, downloads byte-equal to the daemon's, deletion that reaches the daemon, the privacy
settings, the export, account changes and sessions, recovery, deleting the account, the cookie
choice, the security headers and CSRF, no CSP violation, and axe-core on every page. Each promise of
the privacy policy is checked by the test `PROMISES` names."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import urllib.request
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

PASSWORD = "correct horse battery staple"
EXAMPLES = ROOT / "examples"
VECTORS = json.loads((ROOT / "crypto" / "vectors.json").read_text())["vectors"]
VECTOR_SCRIPT = (Path(__file__).resolve().parent / "vectors.js").read_text()


# Helpers: what a person does on the pages, and what a device does with the CLI.
def sign_up(browser, email="ada@example.com", name="Ada Lovelace", birth="1990-05-17", country="") -> str:
    browser.open("/signup")
    browser.answer_cookie_notice()
    browser.fill("Name", name)
    browser.fill("Email", email)
    browser.fill("Password", PASSWORD)
    browser.fill("Password again", PASSWORD)
    browser.fill("Date of birth", birth)
    if country:
        browser.fill("Country (optional)", country)
    browser.click("Create account")
    browser.wait_heading("Your account is ready")
    return browser.driver.find_element("id", "recovery-code").text


def sign_in(browser, email="ada@example.com", password=PASSWORD) -> None:
    browser.open("/signin")
    browser.answer_cookie_notice()
    browser.fill("Email", email)
    browser.fill("Password", password)
    browser.click("Sign in", within="main form")
    browser.wait_heading("Your generations")
    browser.wait(lambda: "generation" in browser.status(), 60, "the gallery")


def device_sign_up(device, server: str, email="ada@example.com") -> None:
    device.cli(
        "account",
        "signup",
        "--server",
        server,
        "--email",
        email,
        "--name",
        "Ada Lovelace",
        "--birth-date",
        "1990-05-17",
        "--password-stdin",
        "--device-name",
        "Ada's laptop",
        password=PASSWORD,
    )


def generate(device, tmp_path: Path, name: str = "duck") -> tuple[str, Path]:
    out = tmp_path / f"{device.name}-{name}.glb"
    made = device.json("generate", str(EXAMPLES / "duck.png"), "-o", str(out), "--faces", "1000", "--grid", "64")
    return made["generation_id"], out


def sync_now(device) -> dict:
    return json.loads(device.cli("sync", "now", "--json").stdout)


def history(device) -> list[dict]:
    return device.json("history", "list", "--limit", "100")["generations"]


def csp_violations(browser) -> list[str]:
    return [
        entry["message"]
        for entry in browser.console()
        if "Content Security Policy" in entry["message"] or "Content-Security-Policy" in entry["message"]
    ]


def check_page(browser, name: str) -> None:
    """What every page must be: no CSP violation, no serious or critical axe-core finding; screenshotted."""
    browser.shot(name)
    violations = browser.axe()
    assert violations == [], f"{name}: " + json.dumps(
        [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations], indent=1
    )
    assert csp_violations(browser) == [], name


# The tests.
def test_the_page_reproduces_the_crypto_vectors(browser):
    browser.open("/")
    for vector in VECTORS:
        result = browser.driver.execute_async_script(VECTOR_SCRIPT, vector)
        assert "error" not in result, result
        for key in (
            "email",
            "auth_key",
            "encryption_key",
            "wrapped_data_key",
            "recovery_code",
            "recovery_verifier",
            "recovery_verifier_digest",
            "recovery_wrapped_data_key",
            "blob_plaintext",
            "blob_name",
        ):
            assert result[key] == vector[key], (vector["name"], key)
        assert result["unwrapped"] == result["recovered"] == vector["data_key"]
        assert result["parsed_code"] == vector["recovery_code_bytes"]
    # A blob of several chunks sealed by an independent implementation opens; cut after a whole chunk,
    # or with its chunks swapped, it does not.
    from cloudclient import CHUNK, seal

    data_key, plaintext = os.urandom(32), os.urandom(2 * CHUNK + 12345)
    sealed = seal(data_key, plaintext)
    first, second = 20, 20 + CHUNK + 16
    swapped = (
        sealed[:first] + sealed[second : second + CHUNK + 16] + sealed[first:second] + sealed[second + CHUNK + 16 :]
    )
    opened = browser.driver.execute_async_script(
        """
        const [key, blobs, done] = arguments;
        import('/assets/app.js').then(async ({ crypto: c }) => {
          const handle = await c.dataKeyHandle(c.unhex(key));
          const answers = [];
          for (const blob of blobs) {
            try { answers.push(c.hex(await c.sha256(await c.openSealed(handle, c.unhex(blob))))); }
            catch (error) { answers.push(String(error)); }
          }
          done(answers);
        });
        """,
        data_key.hex(),
        [sealed.hex(), sealed[:second].hex(), swapped.hex()],
    )
    assert opened[0] == hashlib.sha256(plaintext).hexdigest()
    assert "does not open" in opened[1] and "does not open" in opened[2], opened[1:]
    # Weak parameters from a server are refused, as the daemon refuses them.
    refused = browser.driver.execute_async_script(
        """
        const done = arguments[0];
        import('/assets/app.js').then(({ crypto: c }) =>
          c.passwordKeys('pw', new Uint8Array(16), { memory_kib: 1024, iterations: 1, parallelism: 1 }))
          .then(() => done('accepted'), (error) => done(String(error)));
        """
    )
    assert "weaker password hashing" in refused


def test_sign_up_shows_the_recovery_code_once_and_refuses_under_13_keeping_nothing(browser, cloud, tmp_path):
    from datetime import date

    # Under 13: a kind sentence, the form emptied, and nothing sent.
    browser.open("/signup")
    check_page(browser, "signup")
    twelve = date.today().replace(year=date.today().year - 12).isoformat()
    before = len(browser.requests())
    browser.fill("Name", "Young")
    browser.fill("Email", "young@example.com")
    browser.fill("Password", PASSWORD)
    browser.fill("Password again", PASSWORD)
    browser.fill("Date of birth", twelve)
    browser.click("Create account")
    message = browser.wait_status("13 or older")
    assert "Nothing you typed has been kept" in message and "without an account" in message
    browser.shot("signup-under-13")
    assert not [url for url in browser.requests()[before:] if "/v1/" in url], "nothing may be sent"
    assert browser.driver.execute_script("return document.querySelector('input[name=email]').value") == ""
    # Where the server asks more (a country's higher age), its refusal reads the same way.
    cloud.stop()
    config = tmp_path / "cloud.toml"
    config.write_text("[age.countries]\nKR = 14\n")
    from cloudclient import Server

    server = Server(tmp_path / "cloud-kr", "--config", str(config))
    try:
        browser.base = server.base
        thirteen = date.today().replace(year=date.today().year - 13).isoformat()
        browser.open("/signup")
        browser.fill("Name", "Young")
        browser.fill("Email", "young@example.com")
        browser.fill("Password", PASSWORD)
        browser.fill("Password again", PASSWORD)
        browser.fill("Date of birth", thirteen)
        browser.fill("Country (optional)", "KR")
        browser.click("Create account")
        message = browser.wait_status("aged 14 or older")
        assert "Nothing you typed has been kept" in message
        server.stop()
        assert b"young@example.com" not in server.stored_bytes()
    finally:
        server.stop()
        browser.base = cloud.base

    # A grown-up: the recovery code shown once, downloadable, and the account signed in.
    restarted = Server(tmp_path / "cloud-2")
    try:
        browser.base = restarted.base
        code = sign_up(browser)
        assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}", code), code
        check_page(browser, "signup-recovery-code")
        browser.click("Download as a file")
        assert code in browser.downloaded("3dgpt-recovery-code.txt").decode()
        browser.driver.find_element("id", "code-saved").click()
        browser.click("Continue")
        browser.wait_heading("Your generations")
        assert "No generations synced yet" in browser.wait_status("No generations")
        # Shown once: nowhere again.
        browser.open("/account")
        assert code not in browser.text()
        status, _ = restarted.call("POST", "/v1/accounts/prelogin", {"email": "ada@example.com"})
        assert status == 200
    finally:
        restarted.stop()
        browser.base = cloud.base


def test_a_generation_synced_by_a_daemon_is_decrypted_viewed_downloaded_and_deleted(
    browser, cloud, make_device, tmp_path
):
    laptop = make_device("laptop")
    device_sign_up(laptop, cloud.base)
    made, glb_path = generate(laptop, tmp_path)
    assert sync_now(laptop)["uploaded"] == 1
    daemon_glb = tmp_path / "daemon.glb"
    laptop.cli("history", "download", made, "-o", str(daemon_glb))
    # The server holds it sealed: not the model's bytes.
    assert daemon_glb.read_bytes()[1000:1064] not in cloud.stored_bytes()

    sign_in(browser)
    card = f"[data-generation='{made}']"
    browser.wait(
        lambda: browser.driver.execute_script(
            "const img = document.querySelector(arguments[0] + ' img');"
            "return img && img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:');",
            card,
        ),
        60,
        "the decrypted thumbnail",
    )
    text = browser.driver.execute_script("return document.querySelector(arguments[0]).innerText", card)
    assert "duck.png" in text and "Ada's laptop" in text, text
    check_page(browser, "generations")

    # The 3D viewer draws the model.
    browser.click("View in 3D", within=card)
    browser.wait(
        lambda: browser.driver.execute_script(
            "const c = document.querySelector('dialog.viewer canvas'); return c && c.dataset.rendered === 'true';"
        ),
        60,
        "the viewer's first frame",
    )
    colours = browser.driver.execute_script(
        "const c = document.querySelector('dialog.viewer canvas');"
        "const copy = document.createElement('canvas'); copy.width = 64; copy.height = 48;"
        "const g = copy.getContext('2d'); g.drawImage(c, 0, 0, 64, 48);"
        "const d = g.getImageData(0, 0, 64, 48).data; const seen = new Set();"
        "for (let i = 0; i < d.length; i += 4) seen.add(d[i] >> 4 << 8 | d[i+1] >> 4 << 4 | d[i+2] >> 4);"
        "return seen.size;"
    )
    assert colours > 8, f"the viewer shows {colours} colours: no model drawn"
    browser.click("Turn right", within="dialog.viewer")
    check_page(browser, "viewer")
    browser.click("Close", within="dialog.viewer")

    # Downloaded, it is the daemon's file, byte for byte.
    browser.click("Download GLB", within=card)
    assert browser.downloaded("duck.glb") == daemon_glb.read_bytes() == glb_path.read_bytes()

    # Deleted here, it disappears from the daemon at its next sync.
    browser.click("Delete", within=card)
    browser.click("Delete", within="dialog.confirm")
    browser.wait_status("Deleted duck.png everywhere")
    assert browser.driver.execute_script("return document.querySelectorAll('[data-generation]').length") == 0
    assert sync_now(laptop)["removed"] == 1
    assert history(laptop) == []
    # Two more, then all at once.
    for name in ("first", "second"):
        generate(laptop, tmp_path, name)
    assert sync_now(laptop)["pending_uploads"] == 0
    browser.open("/generations")
    browser.wait_status("2 generations")
    browser.click("Delete all")
    browser.click("Delete all", within="dialog.confirm")
    browser.wait_status("Deleted 2 generations everywhere")
    sync_now(laptop)
    assert history(laptop) == []


def test_privacy_settings_reach_the_daemon_and_consent_is_recorded(browser, cloud, make_device):
    laptop = make_device("laptop")
    device_sign_up(laptop, cloud.base)
    sign_in(browser)
    browser.open("/settings")
    check_page(browser, "settings")
    checked = lambda key: browser.driver.execute_script(f"return document.getElementById('setting-{key}').checked")  # noqa: E731
    # The defaults: sync on; telemetry, training and marketing off.
    assert checked("sync") and not checked("telemetry") and not checked("training_consent")
    assert not checked("marketing_email")
    assert "Never given" in browser.text()
    for key in ("telemetry", "training_consent"):
        browser.driver.find_element("id", f"setting-{key}").click()
        browser.wait(lambda key=key: "Saved" in browser.status() and checked(key), 30, f"{key} saved")
    browser.wait(lambda: "given on the web" in browser.text(), 30, "the consent history")
    sync_now(laptop)
    settings = laptop.json("settings")
    assert settings["telemetry"] and settings["training_consent"] and settings["scope"] == "account", settings
    # Withdrawn here: recorded too, and the daemon follows.
    browser.driver.find_element("id", "setting-training_consent").click()
    browser.wait(lambda: "withdrawn on the web" in browser.text(), 30, "the withdrawal recorded")
    sync_now(laptop)
    assert laptop.json("settings")["training_consent"] is False
    # A change made on the daemon shows on the page.
    laptop.json("settings", "set", "marketing_email", "true")
    browser.open("/settings")
    assert checked("marketing_email")


def test_export_holds_every_record_and_file_decrypted(browser, cloud, make_device, tmp_path):
    laptop = make_device("laptop")
    device_sign_up(laptop, cloud.base)
    made, _ = generate(laptop, tmp_path)
    sync_now(laptop)
    files = {}
    for what in ("asset", "input", "thumbnail"):
        laptop.cli("history", "download", made, "--what", what, "-o", str(tmp_path / what))
        files[what] = (tmp_path / what).read_bytes()
    sign_in(browser)
    browser.open("/settings")
    browser.click("Export my data")
    archive = zipfile.ZipFile(io.BytesIO(browser.downloaded("3dgpt-export.zip")))
    names = set(archive.namelist())
    folder = f"3dgpt-export/generations/{made}"
    assert archive.read(f"{folder}/duck.glb") == files["asset"]
    assert archive.read(f"{folder}/duck.png") == files["input"]
    assert archive.read(f"{folder}/thumbnail.png") == files["thumbnail"]
    record = json.loads(archive.read(f"{folder}/record.json"))
    assert record["id"] == made and record["source"] == "duck.png" and record["device_name"] == "Ada's laptop"
    account = json.loads(archive.read("3dgpt-export/account.json"))
    assert account["email"] == "ada@example.com" and account["name"] == "Ada Lovelace"
    for name in ("settings.json", "consent_history.json", "sessions.json", "records.json", "README.txt"):
        assert f"3dgpt-export/{name}" in names, name
    assert not [name for name in names if name.endswith(".sealed") or "/blobs/" in name], names


def test_the_account_page_changes_the_profile_and_ends_a_devices_session(browser, cloud, make_device):
    laptop = make_device("laptop")
    device_sign_up(laptop, cloud.base)
    sign_in(browser)
    browser.open("/account")
    check_page(browser, "account")
    text = browser.text()
    assert "Pro is not offered on this server." in text and "Free" in text
    assert "Ada's laptop" in text and "This browser" in text and "Web (Chrome)" in text
    browser.fill("Name", "Ada King")
    browser.click("Save the name")
    browser.wait_status("the account's name is Ada King")
    assert laptop.status()["name"] == "Ada King"
    # The email takes the password; without mail set up, the new address counts as verified.
    browser.fill("Email", "ada.king@example.com")
    browser.fill("Password", "not the password")
    browser.click("Change the email")
    browser.wait_status("not right")
    browser.fill("Password", PASSWORD)
    browser.click("Change the email")
    browser.wait_status("the account's email is ada.king@example.com")
    assert laptop.status()["email"] == "ada.king@example.com"
    # Ending the laptop's session signs it out.
    browser.driver.find_element("css selector", 'button[aria-label="Sign out Ada\'s laptop"]').click()
    browser.click("Sign it out", within="dialog.confirm")
    browser.wait_status("Signed out Ada's laptop")
    assert "Ada's laptop" not in browser.driver.find_element("css selector", "table.sessions").text
    status = laptop.status()
    assert status.get("signed_in") is False or not status.get("account"), status


def test_the_password_changes_and_the_recovery_code_sets_a_new_one(browser, cloud, make_device, tmp_path):
    code = sign_up(browser)
    browser.driver.find_element("id", "code-saved").click()
    browser.click("Continue")
    browser.wait_heading("Your generations")
    new_password = "a brand new passphrase"
    browser.open("/account")
    browser.fill("Current password", PASSWORD)
    browser.fill("New password", new_password)
    browser.fill("New password again", new_password)
    browser.click("Change the password")
    browser.wait_status("Changed.")
    # A device signs in with the new password and reads what the account keeps.
    laptop = make_device("laptop")
    laptop.cli(
        "account",
        "login",
        "--server",
        cloud.base,
        "--email",
        "ada@example.com",
        "--password-stdin",
        password=new_password,
    )
    made, _ = generate(laptop, tmp_path)
    sync_now(laptop)
    browser.click("Sign out")
    browser.wait_heading("3D GPT")
    # Forgotten: the recovery code sets another password, and shows a new code.
    browser.open("/recover")
    check_page(browser, "recover")
    third = "the third password here"
    browser.fill("Email", "ada@example.com")
    browser.fill("Recovery code", code.lower())
    browser.fill("New password", third)
    browser.fill("New password again", third)
    browser.click("Set the new password")
    browser.wait_heading("Your new password is set", timeout=90)
    new_code = browser.driver.find_element("id", "recovery-code").text
    assert new_code != code
    browser.driver.find_element("id", "code-saved").click()
    browser.click("Continue")
    browser.wait(
        lambda: browser.driver.execute_script("return document.querySelectorAll('[data-generation]').length") == 1,
        60,
        "the generation, readable",
    )
    # The old code worked once.
    browser.click("Sign out")
    browser.open("/recover")
    browser.fill("Email", "ada@example.com")
    browser.fill("Recovery code", code)
    browser.fill("New password", "yet another password")
    browser.fill("New password again", "yet another password")
    browser.click("Set the new password")
    assert browser.wait(lambda: browser.status() and "Checking" not in browser.status() and browser.status())


def test_deleting_the_account_asks_the_password_and_removes_everything(browser, cloud, make_device, tmp_path):
    laptop = make_device("laptop")
    device_sign_up(laptop, cloud.base)
    generate(laptop, tmp_path)
    sync_now(laptop)
    sign_in(browser)
    browser.open("/settings")
    browser.fill("Password", "not the password")
    browser.click("Delete my account")
    browser.click("Delete my account", within="dialog.confirm")
    assert "not right" in browser.wait_status("not right")
    browser.fill("Password", PASSWORD)
    browser.click("Delete my account")
    browser.click("Delete my account", within="dialog.confirm")
    browser.wait(lambda: "have been deleted" in browser.text(), 60, "the deletion")
    check_page(browser, "account-deleted")
    # Signed out, nothing of it kept by the browser or the server.
    assert [c for c in browser.cookies() if c["name"].endswith("3dgpt_session")] == []
    assert browser.driver.execute_async_script(
        "const done = arguments[0]; const r = indexedDB.open('3dgpt');"
        "r.onsuccess = () => { const t = r.result.transaction('keys').objectStore('keys').count();"
        " t.onsuccess = () => done(t.result); }; r.onerror = () => done(-1);"
    ) in (0, -1)
    cloud.stop()
    assert b"ada@example.com" not in cloud.stored_bytes()
    # The daemon learns it at its next call and signs out.
    assert not laptop.status().get("account")


def test_cookies_are_the_session_cookie_alone_unless_preferences_are_kept(browser, cloud, make_browser):
    browser.open("/")
    check_page(browser, "home-first-visit")
    assert browser.cookies() == [], "no cookie before signing in or choosing"
    assert "no analytics or advertising cookies" in browser.text()
    # Declined: the notice goes, the theme lasts for the tab, and still no cookie.
    browser.click("Don't keep them")
    browser.driver.find_element("id", "theme").send_keys("Dark")
    assert browser.driver.execute_script("return document.documentElement.dataset.theme") == "dark"
    check_page(browser, "home-dark")
    assert browser.cookies() == []
    code = sign_up(browser)
    assert code
    [session] = browser.cookies()
    assert session["name"] == "3dgpt_session" and session["httpOnly"] and session["sameSite"] == "Strict"
    assert session["session"], "a session cookie: it ends with the browser"
    assert browser.driver.execute_script("return document.cookie") == "", "the page cannot read it"
    browser.driver.find_element("id", "code-saved").click()
    browser.click("Continue")
    browser.wait_heading("Your generations")
    browser.click("Sign out")
    browser.wait_heading("3D GPT")
    assert browser.cookies() == []

    # Kept: one preferences cookie, with the theme, and nothing else.
    other = make_browser()
    other.open("/privacy")
    other.click("Keep my preferences")
    other.driver.find_element("id", "theme").send_keys("Light")
    [preferences] = other.cookies()
    assert preferences["name"] == "3dgpt_prefs" and preferences["value"] == "theme:light"
    other.open("/")
    assert other.driver.execute_script("return document.documentElement.dataset.theme") == "light"
    assert "no analytics or advertising cookies" not in other.text(), "answered once, the notice stays away"
    # Nothing was asked of any other site, by either browser (chrome:// is the browser's own new tab).
    for each in (browser, other):
        asked = [url for url in each.requests() if not url.startswith(("chrome://", "chrome-untrusted://"))]
        assert any(url.startswith(cloud.base + "/assets/") for url in asked)
        foreign = [url for url in asked if not url.startswith((cloud.base + "/", "blob:" + cloud.base, "data:"))]
        assert foreign == [], foreign


def test_signing_in_sends_no_password_and_keeps_no_secret_in_storage_or_addresses(browser, cloud):
    sign_up(browser)
    browser.driver.find_element("id", "code-saved").click()
    browser.click("Continue")
    browser.click("Sign out")
    browser.wait_heading("3D GPT")
    browser.requests()
    # Chromium records each request's body in its network log: the password is in none of them.
    browser.driver.execute_cdp_cmd("Network.enable", {})
    sign_in(browser)
    logged = browser.driver.get_log("performance")
    bodies = [
        json.loads(entry["message"])["message"]["params"].get("request", {}).get("postData", "") for entry in logged
    ]
    assert any("auth_key" in body for body in bodies), "the sign-in request was seen"
    assert not [body for body in bodies if PASSWORD in body]
    for url in browser.requests():
        assert "auth_key" not in url and "csrf" not in url.lower() and "key=" not in url, url
    assert browser.driver.execute_script("return localStorage.length") == 0
    # The data key is held where no script can read it out.
    assert browser.driver.execute_async_script(
        "const done = arguments[0]; const r = indexedDB.open('3dgpt');"
        "r.onsuccess = () => { const g = r.result.transaction('keys').objectStore('keys').get('session');"
        " g.onsuccess = () => crypto.subtle.exportKey('raw', g.result.dataKey).then(() => done('exported'),"
        " (e) => done(g.result.dataKey.extractable + ':' + e.name)); };"
    ).startswith("false:")
    # Signing out removes the key and the cookie.
    browser.click("Sign out")
    browser.wait_heading("3D GPT")
    assert (
        browser.driver.execute_async_script(
            "const done = arguments[0]; const r = indexedDB.open('3dgpt');"
            "r.onsuccess = () => { const c = r.result.transaction('keys').objectStore('keys').count();"
            " c.onsuccess = () => done(c.result); };"
        )
        == 0
    )
    assert browser.cookies() == []
    # The server stores an argon2id hash of the auth key, never the password.
    cloud.stop()
    assert PASSWORD.encode() not in cloud.stored_bytes()


def test_security_headers_csrf_and_another_sites_requests(browser, cloud):
    sign_up(browser)
    [session] = browser.cookies()
    cookie = f"{session['name']}={session['value']}"
    request = urllib.request.Request(cloud.base + "/")
    with urllib.request.urlopen(request) as response:
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self' 'wasm-unsafe-eval'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy.replace("'wasm-unsafe-eval'", "")
        assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"
    # Signed in by the cookie: reading works, changing needs the CSRF token.
    status, account = cloud.call("GET", "/v1/account", headers={"Cookie": cookie})
    assert status == 200 and account["email"] == "ada@example.com"
    status, body = cloud.call("PATCH", "/v1/account", {"name": "Mallory"}, headers={"Cookie": cookie})
    assert status == 403 and body["code"] == "csrf", body
    status, web = cloud.call("GET", "/v1/web/session", headers={"Cookie": cookie})
    token = web["csrf_token"]
    status, body = cloud.call(
        "PATCH",
        "/v1/account",
        {"name": "Mallory"},
        headers={"Cookie": cookie, "X-CSRF-Token": token, "Origin": "https://evil.example"},
    )
    assert status == 403 and body["code"] == "cross_site", body
    status, body = cloud.call(
        "PATCH", "/v1/account", {"name": "Ada K"}, headers={"Cookie": cookie, "X-CSRF-Token": token}
    )
    assert status == 200 and body["name"] == "Ada K"
    # The cookie is no bearer token, and a forged cookie is nobody.
    status, _ = cloud.call("GET", "/v1/account", token=session["value"])
    assert status == 401
    status, body = cloud.call("GET", "/v1/web/session", headers={"Cookie": "3dgpt_session=" + "0" * 64})
    assert status == 200 and body == {"signed_in": False}
    # The session is one of the account's sessions, and ends with sign-out.
    status, body = cloud.call("DELETE", "/v1/web/session", headers={"Cookie": cookie, "X-CSRF-Token": token})
    assert status == 204
    status, _ = cloud.call("GET", "/v1/account", headers={"Cookie": cookie})
    assert status == 401


def test_without_javascript_the_page_says_so_and_the_policy_reads(make_browser):
    browser = make_browser(javascript=False)
    browser.driver.get(browser.base + "/signin")
    text = browser.text()
    assert "These pages need JavaScript" in text and "never reaches the server" in text
    browser.shot("no-javascript")
    browser.driver.get(browser.base + "/privacy")
    assert "Privacy policy" in browser.text() and "never leaves your device" in browser.text()


# Each promise of the privacy policy, and the test that checks it against what the server and the
# pages do.
PROMISES = {
    "password-never-sent": test_signing_in_sends_no_password_and_keeps_no_secret_in_storage_or_addresses,
    "encrypted": test_a_generation_synced_by_a_daemon_is_decrypted_viewed_downloaded_and_deleted,
    "age": test_sign_up_shows_the_recovery_code_once_and_refuses_under_13_keeping_nothing,
    "email": test_sign_up_shows_the_recovery_code_once_and_refuses_under_13_keeping_nothing,
    "download": test_export_holds_every_record_and_file_decrypted,
    "delete": test_deleting_the_account_asks_the_password_and_removes_everything,
    "training": test_privacy_settings_reach_the_daemon_and_consent_is_recorded,
    "telemetry": test_privacy_settings_reach_the_daemon_and_consent_is_recorded,
    "marketing": test_privacy_settings_reach_the_daemon_and_consent_is_recorded,
    "sessions": test_the_account_page_changes_the_profile_and_ends_a_devices_session,
    "cookies": test_cookies_are_the_session_cookie_alone_unless_preferences_are_kept,
    "no-third-parties": test_cookies_are_the_session_cookie_alone_unless_preferences_are_kept,
    "no-secrets-stored": test_signing_in_sends_no_password_and_keeps_no_secret_in_storage_or_addresses,
    "payments": test_the_account_page_changes_the_profile_and_ends_a_devices_session,
}


def test_the_privacy_policy_states_this_servers_settings_and_every_promise_has_a_test(browser, cloud, tmp_path):
    browser.open("/privacy")
    check_page(browser, "privacy-policy")
    promised = browser.driver.execute_script(
        "return [...document.querySelectorAll('[data-promise]')].map(e => e.dataset.promise)"
    )
    assert sorted(promised) == sorted(PROMISES), "a promise without a test, or a test of no promise"
    text = browser.text()
    assert "aged 13 or older" in text and "kept 90 days" in text and "sends no mail at all" in text
    assert "takes no payments" in text
    # Configured otherwise, the policy says so.
    from cloudclient import Server

    config = tmp_path / "cloud.toml"
    config.write_text(
        "[sync]\ntombstone_seconds = 864000\n[telemetry]\nretention_seconds = 2592000\n[age.countries]\nKR = 14\n"
        '[payments]\ncheckout_url = "https://pay.example/checkout"\nwebhook_secret = "whsec_test"\n'
    )
    other = Server(tmp_path / "cloud-configured", "--config", str(config))
    try:
        browser.base = other.base
        browser.open("/privacy")
        text = browser.text()
        assert "kept 10 days" in text and "kept 30 days" in text and "14 in KR" in text
        assert "never card details" in text
        # With a checkout, a Free account is offered the upgrade at the provider.
        sign_up(browser)
        browser.driver.find_element("id", "code-saved").click()
        browser.click("Continue")
        browser.open("/account")
        link = browser.driver.find_element("link text", "Upgrade to Pro").get_attribute("href")
        assert link.startswith("https://pay.example/checkout?client_reference_id=acct_")
    finally:
        other.stop()
        browser.base = cloud.base


@pytest.mark.parametrize("page", ["/", "/signin", "/signup", "/recover", "/privacy"])
def test_signed_out_pages_have_no_csp_violation_and_no_serious_accessibility_issue(browser, page):
    browser.open(page)
    check_page(browser, "signed-out" + (page.replace("/", "-") if page != "/" else "-home"))
