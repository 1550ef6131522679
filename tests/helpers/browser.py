"""Headless Chromium for tests (shared helper: the leaderboard and the HTML report tests use it).

Usage in a test module::

    from tests.helpers.browser import open_file, save_screenshot  # the `browser` fixture comes from conftest

    def test_page(browser, tmp_path):
        open_file(browser, tmp_path / "index.html")
        ...
        save_screenshot(browser, tmp_path / "page.png")

The browser is Debian's ``chromium`` driven by Selenium through Debian's ``chromium-driver`` (no download at
run time: Selenium Manager is bypassed by naming the driver). When the binaries are missing the fixture runs
the project's own ``make browser`` once (apt-get, needs root); only if they are still missing afterwards is
the test skipped, with the reason.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_CANDIDATES = ("chromedriver",)
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
)
_install_attempted: dict[str, str] = {}


def _which(names: tuple[str, ...]) -> str | None:
    for n in names:
        found = shutil.which(n) or (f"/usr/bin/{n}" if Path(f"/usr/bin/{n}").exists() else None)
        if found:
            return found
    return None


def find_browser() -> tuple[str | None, str | None]:
    return _which(CHROMIUM_CANDIDATES), _which(DRIVER_CANDIDATES)


def ensure_browser() -> tuple[str, str] | str:
    """(chromium, chromedriver) paths, installing them through ``make browser`` once if needed; else the
    reason they are unavailable."""
    chromium, driver = find_browser()
    if chromium and driver:
        return chromium, driver
    if "done" not in _install_attempted:
        _install_attempted["done"] = "yes"
        try:
            proc = subprocess.run(["make", "-C", str(REPO), "browser"], capture_output=True, text=True, timeout=900, check=False)
            _install_attempted["log"] = (proc.stdout + proc.stderr)[-500:]
        except (OSError, subprocess.SubprocessError) as exc:
            _install_attempted["log"] = str(exc)
        chromium, driver = find_browser()
        if chromium and driver:
            return chromium, driver
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    missing = " and ".join(n for n, p in (("chromium", chromium), ("chromedriver", driver)) if not p)
    return f"{missing} not found and `make browser` could not install it: {_install_attempted.get('log', '')}"


@contextlib.contextmanager
def chromium_driver(width: int = 1400, height: int = 1000) -> Iterator[object]:
    """A Selenium Chrome driver on Debian's chromium, with a fresh profile that is deleted afterwards."""
    found = ensure_browser()
    if isinstance(found, str):
        raise RuntimeError(found)
    chromium, driver_path = found
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="hsb-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    """Session-wide headless Chromium (starting it costs ~1 s); skipped with the reason when unavailable."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[dev]')")
    found = ensure_browser()
    if isinstance(found, str):
        pytest.skip(found)
    with chromium_driver() as driver:
        yield driver


def open_file(driver, path: str | Path, wait_s: float = 10.0) -> None:
    """Open a local HTML file (file:// URL) and wait until the document has loaded."""
    driver.get(Path(path).resolve().as_uri())
    deadline = time.monotonic() + wait_s
    while driver.execute_script("return document.readyState") != "complete":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not finish loading in {wait_s} s")
        time.sleep(0.05)


def save_screenshot(driver, path: str | Path, full_page: bool = True, width: int = 1400) -> Path:
    """PNG screenshot; ``full_page`` grows the window to the document height first (headless only)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if full_page:
        height = driver.execute_script("return Math.max(document.body.scrollHeight, "
                                       "document.documentElement.scrollHeight)")
        driver.set_window_size(width, min(max(int(height) + 20, 400), 12000))
    driver.save_screenshot(str(path))
    return path


def js_errors(driver) -> list[str]:
    """Severe console messages (script errors) logged by the page, when the driver exposes them."""
    try:
        return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    except Exception:  # some drivers have no log endpoint
        return []
