"""Browser tests: Playwright drives Debian's system Chromium (never a downloaded browser)
against Django's live_server. Screenshots land in .run/screenshots/ for people to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's async guard would trip on ORM calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".run" / "screenshots"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    return {
        **browser_type_launch_args,
        "executable_path": chromium,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}}


@pytest.fixture
def login(live_server):
    """`login(page, user)` logs in through the real form and lands on the dashboard."""

    def do(page, user, password: str = PASSWORD):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    return do


@pytest.fixture
def screenshot():
    def take(page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(autouse=True)
def _second_factor_gate_off(settings):
    """These tests are about the vault, hosts and approvals, not sign-in: their sessions are made
    with force_login or a password alone. The second-factor gate on reveal and approve
    (SIGNIN_SECRETS_REQUIRE_2FA, on by default) is tested in tests/signin/."""
    settings.SIGNIN_SECRETS_REQUIRE_2FA = False


@pytest.fixture(autouse=True)
def _sign_in_rate_limit_off(settings):
    """Every browser test signs in through the real form from 127.0.0.1, and allauth counts
    sign-ins per address in the cache for a minute (30 by default): one xdist worker running
    many short browser tests in a row was refused with 429 halfway through. The limit itself is
    tested in tests/signin/."""
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "10000/m/ip"}
