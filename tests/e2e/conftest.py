"""Browser tests: the app served on a free local port, driven by Debian's Chromium through Playwright.

No browser is downloaded: Playwright launches /usr/bin/chromium (or $VAXCHAIN_CHROMIUM). Without a
Chromium these tests are skipped on a developer machine, and fail under CI (CI=true), which
installs it.

The helpers below are shared by the flows: logging in through the login form, typing a scan the way a
keyboard-wedge scanner does, and saving screenshots for the guides (only with ``VAXCHAIN_SCREENSHOTS=1``,
so that CI never rewrites docs/screenshots/).
"""
import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("VAXCHAIN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
GS = "\x1d"  # the ASCII group separator a GS1 scanner sends after a variable-length field


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}: CI must install Debian's chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="vi-VN", base_url=live_server, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def log_in(page, username):
    """Log in through the login form as ``username`` (password ``PASSWORD``), leaving any earlier session."""
    page.context.clear_cookies()
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.locator("main").get_by_role("button").click()
    expect(page.get_by_role("navigation", name="Menu chính")).to_be_visible()


def scan(page, text):
    """What a keyboard-wedge scanner does: type the characters fast, then press Enter."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def gs1(gtin, lot, expiry, separator):
    """A pack's GS1 DataMatrix as scanned: GTIN, expiry, lot, then (after ``separator``) a serial."""
    return f"]d201{gtin}17{expiry:%y%m%d}10{lot}{separator}21PACK{lot}"


def screenshots_wanted():
    return os.environ.get("VAXCHAIN_SCREENSHOTS") == "1"


def save_screenshot(page, name):
    """The whole page as docs/screenshots/``name``, when ``VAXCHAIN_SCREENSHOTS=1``."""
    if screenshots_wanted():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
