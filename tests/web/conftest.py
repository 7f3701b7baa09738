"""Fixtures for the web pages' tests: a real `3dgpt-cloud` serving its pages, real Chromium (Debian's
`chromium` with its `chromedriver`, driven by Selenium) with its console, network log, cookie jar
and downloads read back, axe-core injected for the accessibility checks, and real daemons (the
`3dgpt` binary) as the devices whose generations the pages show. Every page a test visits is
screenshotted into target/web-screenshots/ (the CI's artefacts)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cloud"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
SCREENSHOTS = ROOT / "target" / "web-screenshots"
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


def chromium_paths() -> tuple[str, str]:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver:
        raise RuntimeError(
            "the web tests need Debian's chromium and chromium-driver (scripts/test.sh installs them: "
            "apt-get install chromium chromium-driver)"
        )
    return browser, driver


class Browser:
    """One headless Chromium with a fresh profile, on one server."""

    def __init__(self, base: str, folder: Path, javascript: bool = True):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        browser, driver = chromium_paths()
        self.base = base
        self.downloads = folder / "downloads"
        self.downloads.mkdir(parents=True, exist_ok=True)
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for argument in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--window-size=1280,1000",
            # WebGL in software, for the 3D viewer.
            "--enable-unsafe-swiftshader",
            f"--user-data-dir={tempfile.mkdtemp(dir=folder)}",
        ]:
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        prefs = {
            "download.default_directory": str(self.downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        }
        if not javascript:
            prefs["profile.managed_default_content_settings.javascript"] = 2
        options.add_experimental_option("prefs", prefs)
        self.driver = webdriver.Chrome(service=Service(driver), options=options)
        self.driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(self.downloads)}
        )
        self.console_seen: list[dict] = []
        self.requests_seen: list[str] = []

    # Driving.
    def open(self, path: str) -> None:
        self.driver.get(self.base + path)
        self.settled()

    def settled(self, timeout: float = 60) -> None:
        """Waits until the page's script has shown its part (the main element is no longer busy)."""
        self.wait(
            lambda: self.driver.execute_script(
                "const main = document.getElementById('main');"
                "return document.readyState === 'complete' && main && !main.hasAttribute('aria-busy')"
                " && (main.dataset.static || document.querySelector('main h1') !== null);"
            ),
            timeout,
            "the page did not finish showing",
        )

    def wait(self, condition, timeout: float = 60, what: str = "the condition"):
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = condition()
            except Exception:  # the page may be between two parts
                result = None
            if result:
                return result
            if time.monotonic() > deadline:
                self.shot("timeout")
                raise AssertionError(f"waited {timeout} s for {what}; the page says: {self.text()[:2000]}")
            time.sleep(0.1)

    def answer_cookie_notice(self) -> None:
        """Answers the first-visit notice ("Don't keep them") if it is showing, as a person would
        before using the page."""
        if self.driver.execute_script("return document.querySelector('.cookie-notice') !== null"):
            self.click("Don't keep them", within=".cookie-notice")

    def text(self) -> str:
        return self.driver.execute_script("return document.body ? document.body.innerText : ''")

    def heading(self) -> str:
        return self.driver.execute_script("const h = document.querySelector('main h1'); return h ? h.innerText : ''")

    def wait_heading(self, text: str, timeout: float = 60) -> None:
        self.wait(
            lambda: self.heading() == text
            and self.driver.execute_script("return !document.getElementById('main').hasAttribute('aria-busy')"),
            timeout,
            f"the heading {text!r}",
        )

    def fill(self, label: str, value: str, within: str = "main") -> None:
        """Types into the input labelled `label` (its visible label, as a person finds it)."""
        element = self.driver.execute_script(
            "const root = document.querySelector(arguments[0]);"
            "const label = [...root.querySelectorAll('label')].find(l => l.innerText.trim() === arguments[1]);"
            "return label ? document.getElementById(label.htmlFor) : null;",
            within,
            label,
        )
        assert element is not None, f"no field labelled {label!r}"
        if element.get_attribute("type") == "date":
            self.driver.execute_script("arguments[0].value = arguments[1]", element, value)
        else:
            element.clear()
            element.send_keys(value)

    def click(self, text: str, within: str = "body") -> None:
        """Clicks the button or link whose text is `text`."""
        element = self.wait(
            lambda: self.driver.execute_script(
                "const root = document.querySelector(arguments[0]);"
                "return [...root.querySelectorAll('button, a')].find(e => e.innerText.trim() === arguments[1]"
                " && !e.disabled && e.offsetParent !== null) || null;",
                within,
                text,
            ),
            30,
            f"a button or link {text!r}",
        )
        element.click()

    def status(self, within: str = "main") -> str:
        return self.driver.execute_script(
            "return [...document.querySelectorAll(arguments[0] + ' [role=status]')].map(e => e.innerText).join(' | ')",
            within,
        )

    def wait_status(self, fragment: str, within: str = "main", timeout: float = 60) -> str:
        return self.wait(
            lambda: fragment in self.status(within) and self.status(within), timeout, f"a status saying {fragment!r}"
        )

    def shot(self, name: str) -> Path:
        """A screenshot of the whole page (not only the window) into target/web-screenshots/."""
        import base64

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1}
        picture = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
        )
        path.write_bytes(base64.b64decode(picture["data"]))
        return path

    # What the browser itself recorded.
    def console(self) -> list[dict]:
        self.console_seen += self.driver.get_log("browser")
        return self.console_seen

    def requests(self) -> list[str]:
        """Every URL the page asked for, read from Chromium's network log."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                self.requests_seen.append(message["params"]["request"]["url"])
        return self.requests_seen

    def cookies(self) -> list[dict]:
        """The browser's own cookie jar (every cookie, HttpOnly ones too)."""
        return self.driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]

    def axe(self) -> list[dict]:
        """axe-core's serious and critical violations on the page as it is now."""
        if not AXE.exists():
            raise RuntimeError(f"{AXE} is missing: run `npm ci` in tests/web (scripts/test.sh does)")
        self.driver.execute_script(AXE.read_text())
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations)).catch(e => done(String(e)));"
        )
        assert isinstance(result, list), result
        return [violation for violation in result if violation.get("impact") in ("serious", "critical")]

    def downloaded(self, name: str, timeout: float = 60) -> bytes:
        path = self.downloads / name
        self.wait(lambda: path.exists() and path.stat().st_size > 0, timeout, f"the download {name}")
        return path.read_bytes()

    def quit(self) -> None:
        self.driver.quit()


@pytest.fixture
def cloud(tmp_path):
    """A real `3dgpt-cloud` serving its pages, on SQLite in the test's folder."""
    from cloudclient import Server

    server = Server(tmp_path / "cloud")
    yield server
    server.stop()


@pytest.fixture
def browser(cloud, tmp_path):
    made = Browser(cloud.base, tmp_path / "browser")
    yield made
    made.quit()


@pytest.fixture
def make_browser(cloud, tmp_path):
    """More browsers (another person, a browser without JavaScript)."""
    made = []

    def make(javascript: bool = True) -> Browser:
        browser = Browser(cloud.base, tmp_path / f"browser-{len(made)}", javascript=javascript)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        browser.quit()


@pytest.fixture(scope="session")
def binary() -> Path:
    """The built `3dgpt` binary (scripts/test.sh builds it before the tests run)."""
    path = Path(os.environ.get("THREEDGPT_BIN", ROOT / "target" / "debug" / "3dgpt"))
    if not path.exists():
        raise RuntimeError(f"{path} does not exist: build it with `cargo build -p threedgpt-daemon`")
    return path


@pytest.fixture
def make_device(binary, tmp_path):
    """Real daemons, each with its own data folder and keys, driven through the CLI."""
    from devices import Device

    made = []

    def make(name: str):
        device = Device(binary, tmp_path, name, "--sync-interval", "3600")
        made.append(device)
        return device

    yield make
    for device in made:
        device.stop()
