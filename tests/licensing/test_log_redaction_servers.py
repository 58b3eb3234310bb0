"""Key-shaped text in a URL is redacted by every log handler of the real servers, in every mode:
the development server's request log (DEBUG on and off), Django's DEBUG console handler (the
"Not Found" warning) and gunicorn's access log."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from tests.factories import product_key
from tests.faults.harness import PortalServer, _collectstatic
from tests.licensing.test_auth_and_health import ROOT
from tests.servers import free_port, wait_for_port

pytestmark = pytest.mark.django_db

KEY = product_key(4242)


def _env(debug: bool) -> dict[str, str]:
    db = settings.DATABASES["default"]
    drop = {"PORTAL_TESTING", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "TEST_DATABASE_NAME"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {
        **env,
        "DEBUG": "1" if debug else "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "KEY_FINGERPRINT_PEPPER": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_COOKIES": "0",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATABASE_POOL": "0",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }


def _get(port: int, path: str) -> None:
    with contextlib.suppress(urllib.error.HTTPError):  # 302/404: the log line is what matters
        urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30)


def _serve_and_log(command: list[str], port: int, debug: bool) -> str:
    env = _env(debug)
    if not debug:  # production pages need whitenoise's manifest
        _collectstatic(PortalServer(directory=ROOT / ".run", database_url="", redis_url=""), env)
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        wait_for_port(port, timeout=60)
        _get(port, f"/clients/?q={KEY}")
        _get(port, f"/no-such-page/{KEY.replace('-', '')}/")
        _get(port, "/healthz")
        # The last request's log line comes after its answer: read until it is there.
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "/healthz" in line:
                break
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    return "".join(lines) + out


def _assert_redacted(log: str) -> None:
    assert "/healthz" in log, log  # the request log is on
    assert KEY not in log and KEY.replace("-", "") not in log, log
    assert KEY.lower() not in log.lower()
    assert f"[REDACTED KEY …{KEY[-5:]}]" in log, log


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_runserver_request_log_redacts_keys(debug):
    port = free_port()
    cmd = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    log = _serve_and_log(cmd, port, debug)
    _assert_redacted(log)
    if debug:
        assert "Not Found" in log  # Django's own DEBUG console handler wrote it


def test_gunicorn_access_log_redacts_keys():
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "portal.wsgi",
        "--workers",
        "1",
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
    ]
    _assert_redacted(_serve_and_log(cmd, port, debug=False))
