"""Screenshots of the portal for the docs, made from the demo data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_shots \\
        .venv/bin/python scripts/screenshots.py [--out docs/img] [--only NAME ...] [--base-url URL]

Without --base-url it creates (if missing), migrates and seeds the database at DATABASE_URL
(`seed_demo`: it REPLACES the demo organisations there, never use a production database), starts
`manage.py runserver` on a free port with DEBUG=1, signs in as the demo users through the login
form and writes one PNG per entry of SHOTS into --out (default docs/img). With --base-url it
uses a portal that is already running with the demo data (e.g. `make run`). Uses Debian's
chromium (no browser is downloaded).

Other pages reuse it: add a Shot(name, user, path, ...) to SHOTS, or import `shoot` and pass
your own list.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo-portal-2026"  # the demo users' password (seed_demo prints it)


@dataclass
class Shot:
    name: str  # file name without extension
    user: str  # demo user who looks at the page
    path: str  # URL path (with query)
    full_page: bool = False
    prepare: Callable | None = None  # prepare(page) before the picture, e.g. open a menu


def _open_first_client(page) -> None:
    """From a filtered client list to the first client's own page."""
    page.locator("table a[href^='/clients/'][href$='/']").first.click()
    page.wait_for_load_state("networkidle")


SHOTS = [
    Shot("dashboard", "contoso-admin", "/"),
    Shot("client", "contoso-admin", "/clients/?compliance_flag=expired", True, _open_first_client),
    Shot("licences", "contoso-manager", "/licences/"),
    Shot("offline", "contoso-admin", "/offline/"),
    Shot("clients", "contoso-admin", "/clients/?compliance_flag=at_risk&sort=deadline"),
    Shot("pools", "contoso-admin", "/pools/"),
    Shot("kms-hosts", "contoso-admin", "/kms/hosts/"),
    Shot("imports", "contoso-admin", "/imports/"),
    Shot("tokens", "contoso-admin", "/tokens/"),
    Shot("approvals", "contoso-manager", "/approvals/"),
    Shot("reports", "contoso-auditor", "/reports/"),
    Shot("audit", "contoso-auditor", "/audit/"),
    Shot("global", "superadmin", "/global/"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_portal(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    sys.path.insert(0, str(ROOT))
    from portal.scratch_db import ensure_database

    ensure_database(env["DATABASE_URL"])
    py = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([py, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [py, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    port = _free_port()
    proc = subprocess.Popen(
        [py, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the portal did not start within 60 s")


def shoot(base_url: str, shots: list[Shot], out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        contexts = {}
        for shot in shots:
            if shot.user not in contexts:
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.goto(f"{base_url}/accounts/login/")
                page.fill("#id_username", shot.user)
                page.fill("#id_password", PASSWORD)
                page.click("form:has(#id_password) button[type=submit]")
                page.wait_for_url(f"{base_url}/")
                contexts[shot.user] = page
            page = contexts[shot.user]
            page.goto(f"{base_url}{shot.path}")
            page.wait_for_load_state("networkidle")
            if shot.prepare:
                shot.prepare(page)
            path = out / f"{shot.name}.png"
            page.screenshot(path=str(path), full_page=shot.full_page)
            written.append(path)
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description="Screenshots of the demo portal for the docs.")
    parser.add_argument("--out", default=str(ROOT / "docs" / "img"), help="folder for the PNGs")
    parser.add_argument("--only", nargs="*", help="names of SHOTS to take (default: all)")
    parser.add_argument("--base-url", help="use a running demo portal instead of starting one")
    args = parser.parse_args()
    shots = [s for s in SHOTS if not args.only or s.name in args.only]
    if args.base_url:
        shoot(args.base_url.rstrip("/"), shots, Path(args.out))
        return
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("Set DATABASE_URL to a scratch database (it is seeded with the demo).")
    env = {**os.environ, "DEBUG": "1", "CELERY_BROKER_URL": "filesystem://", "DATABASE_POOL": "0"}
    env.setdefault("CELERY_FILESYSTEM_DIR", str(ROOT / ".run" / "broker-screenshots"))
    proc, base_url = _start_portal(env)
    try:
        shoot(base_url, shots, Path(args.out))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
