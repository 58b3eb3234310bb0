"""`make prod-check`: start the production processes locally and check them.

On a database of its own (`<DATABASE_URL name>_prodcheck`, created and dropped) and the Redis at
REDIS_URL, with DEBUG off and fresh secrets: `check --deploy`, migrate, collectstatic, then
gunicorn (2 workers, gthread, prometheus multiprocess dir), one Celery worker and one beat, as
deploy/systemd starts them. Checks: /healthz 200; /readyz 200 once beat's heartbeat arrived;
/metrics 401 without the token and, with it, the beat heartbeat and a task run counted from the
worker; a JSON request log line with its request id. Exit 1 with the reason on the first failure.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def fail(message: str) -> None:
    print(f"prod-check: FAILED: {message}", file=sys.stderr)
    raise SystemExit(1)


def get(url: str, token: str = "") -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Host": "127.0.0.1"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace"), dict(exc.headers)


def wait_for(what: str, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                print(f"prod-check: ok: {what}")
                return
        except OSError:
            pass
        time.sleep(1)
    fail(f"{what} (waited {timeout:.0f} s)")


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from portal.scratch_db import database_name, drop_database, ensure_database, sibling_url

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
    database_url = sibling_url(base, f"{database_name(base)}_prodcheck")
    ensure_database(database_url, fresh=True)
    work = Path(tempfile.mkdtemp(prefix="portal-prodcheck-"))
    (work / "prometheus").mkdir()
    token = secrets.token_urlsafe(24)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PORTAL_TESTING", "DEBUG", "CELERY_TASK_ALWAYS_EAGER"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        KEY_FINGERPRINT_PEPPER=secrets.token_urlsafe(32),
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        METRICS_TOKEN=token,
        LOG_FORMAT="json",
        PROMETHEUS_MULTIPROC_DIR=str(work / "prometheus"),
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
    )

    def manage(*args: str, environment: dict[str, str] | None = None) -> None:
        out = subprocess.run(
            [PY, "manage.py", *args],
            cwd=ROOT,
            env=environment or env,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            fail(f"manage.py {' '.join(args)}:\n{out.stdout}{out.stderr}")
        print(f"prod-check: ok: manage.py {' '.join(args)}")

    # The deploy check with the settings a TLS deployment has (the local run below is plain http).
    behind_tls = {
        k: v for k, v in env.items() if k not in {"SECURE_SSL_REDIRECT", "SECURE_COOKIES"}
    }
    manage("check", "--deploy", "--fail-level", "WARNING", environment=behind_tls)
    manage("migrate", "--no-input", "-v0")
    manage("collectstatic", "--no-input", "-v0")
    logs = {n: (work / f"{n}.log").open("wb") for n in ("web", "worker", "beat")}
    commands = {
        "web": [PY, "-m", "gunicorn", "portal.wsgi", "--workers", "2", "--worker-class",
                "gthread", "--threads", "8", "--bind", f"127.0.0.1:{port}"],
        "worker": [PY, "-m", "celery", "-A", "portal", "worker", "-P", "threads", "-c", "4",
                   "-n", "prodcheck@%h", "--without-gossip", "--without-mingle", "-l", "info"],
        "beat": [PY, "-m", "celery", "-A", "portal", "beat", "-l", "info",
                 "-s", str(work / "beat-schedule")],
    }  # fmt: skip
    procs = {
        n: subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=logs[n], stderr=logs[n], start_new_session=True
        )
        for n, cmd in commands.items()
    }
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for("/healthz answers 200", lambda: get(f"{url}/healthz")[0] == 200, 60)
        headers = get(f"{url}/readyz")[2]
        if "X-Request-ID" not in headers:
            fail("no X-Request-ID header")
        # Beat's first heartbeat comes one interval (60 s) after it starts.
        wait_for(
            "/readyz answers 200 (beat heartbeat seen)", lambda: get(f"{url}/readyz")[0] == 200, 150
        )
        if get(f"{url}/metrics")[0] != 401:
            fail("/metrics without the token did not answer 401")
        wanted = [
            'portal_heartbeat_age_seconds{component="beat"}',
            'portal_celery_task_runs_total{state="SUCCESS",task="licensing.ops.record_heartbeat"}',
            'portal_http_requests_total{method="GET",status="200",view="readyz"}',
            'portal_metrics_section_up{section="celery_queue"} 1.0',
        ]
        seen = {"text": ""}

        def metrics_complete() -> bool:
            seen["text"] = get(f"{url}/metrics", token)[1]
            return all(w in seen["text"] for w in wanted)

        try:
            wait_for(
                "/metrics with the token shows beat, the worker's task runs and requests",
                metrics_complete,
                60,
            )
        except SystemExit:
            missing = [w for w in wanted if w not in seen["text"]]
            portal_lines = [ln for ln in seen["text"].splitlines() if ln.startswith("portal_")]
            print("missing:", missing, "\n" + "\n".join(portal_lines[:80]), file=sys.stderr)
            raise
        lines = [
            json.loads(line)
            for line in (work / "web.log").read_text(errors="replace").splitlines()
            if line.startswith("{")
        ]
        if not any(r.get("logger") == "portal.request" and r.get("request_id") for r in lines):
            fail("no JSON request log line with a request id in the web log")
        print("prod-check: ok: JSON request log lines with request ids")
        for n, p in procs.items():
            if p.poll() is not None:
                fail(f"{n} exited ({p.returncode}); log: {work / (n + '.log')}")
        print("prod-check: all checks passed")
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        drop_database(database_url)


if __name__ == "__main__":
    main()
