"""A production-mode portal in a subprocess, for fault tests: gunicorn with DEBUG off, secrets
from the environment, the connection pool on, its own PostgreSQL, Redis and broker folder."""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

# Makes the data the fault tests act on and prints what they need to sign in, as JSON.
SEED = """
import json
from django.test import Client as WebClient
from django.utils import timezone
from licensing.models import ActivationMethod, ClientCount, ComplianceFlag, Heartbeat, Role
from licensing.models import TokenScope
from licensing.services.tokens import create_api_token
from tests import factories

org = factories.OrganisationFactory(name="Fault Tolerance Ltd", slug="fault-tolerance")
user = factories.UserFactory(username="fault-admin")
factories.MembershipFactory(user=user, organisation=org, role=Role.ADMIN)
factories.ClientFactory.create_batch(3, organisation=org)
# Counted as a large organisation: its dashboard caches the MAK forecast (cached_forecast).
ClientCount.objects.create(
    organisation=org, compliance_flag=ComplianceFlag.OK, edition=None,
    activation_method=ActivationMethod.KMS, count=25_000, computed_at=timezone.now(),
)
Heartbeat.objects.update_or_create(name="beat", defaults={"at": timezone.now()})
web = WebClient()
web.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
tokens = {
    name: create_api_token(actor=user, organisation=org, name=name)[1]
    for name in ("api", "throttled")
}
tokens["agent"] = create_api_token(
    actor=user, organisation=org, name="agent", scope=TokenScope.AGENT
)[1]
print(json.dumps({"session": web.cookies["sessionid"].value, "tokens": tokens}))
"""


# What `PortalServer.everything` answers when all is well.
ALL_OK = [
    ("dashboard", 200),
    ("client list", 200),
    ("api clients", 200),
    ("ingest", 200),
    ("readyz", 200),
]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


@dataclass
class PortalServer:
    """`start()` migrates and seeds the database at `database_url`, then starts gunicorn on a
    free loopback port; `stop()` ends it (always call it: the fixtures do)."""

    directory: Path
    database_url: str
    redis_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    seed: str = SEED  # a script printing {"session": ..., "tokens": {...}} as its last line
    process: subprocess.Popen[bytes] | None = None
    session: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    port: int = 0

    @property
    def log_path(self) -> Path:
        return self.directory / "gunicorn.log"

    def env(self) -> dict[str, str]:
        broker = self.directory / "broker"
        drop = {"PORTAL_TESTING", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "TEST_DATABASE_NAME"}
        return {
            **{k: v for k, v in os.environ.items() if k not in drop},
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "KEY_FINGERPRINT_PEPPER": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_COOKIES": "0",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": self.database_url,
            "DATABASE_POOL": "1",
            "REDIS_URL": self.redis_url,
            # Nothing reaches a shared Redis: tasks queued on commit land in this folder.
            "CELERY_BROKER_URL": "filesystem://",
            "CELERY_FILESYSTEM_DIR": str(broker),
            **self.extra_env,
        }

    def manage(self, *args: str, env: dict[str, str]) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if out.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        env = self.env()
        self.manage("migrate", "--no-input", "-v0", env=env)
        seeded = json.loads(self.manage("shell", "-c", self.seed, env=env).strip().splitlines()[-1])
        self.session, self.tokens = seeded["session"], seeded["tokens"]
        _collectstatic(self, env)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with listener, self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "portal.wsgi",
                    "--workers",
                    "1",
                    "--worker-class",
                    "gthread",
                    "--threads",
                    "8",
                    "--timeout",
                    "120",
                    "--graceful-timeout",
                    "5",
                    "--bind",
                    f"fd://{listener.fileno()}",
                ],
                cwd=ROOT,
                env=env,
                pass_fds=(listener.fileno(),),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log()}")
            with contextlib.suppress(OSError):
                if self.get("/healthz").status == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"gunicorn did not answer within 60 s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def record_beat(self) -> None:
        """What the beat heartbeat task writes, so that /readyz sees beat and a worker alive."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute("UPDATE licensing_heartbeat SET at = now() WHERE name = 'beat'")

    def database_connections(self) -> int:
        """Connections the portal holds open to its database (its pool, idle or busy)."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        return row[0] if row else 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        browser: bool = False,
        body: object = None,
    ) -> Answer:
        headers = {"Host": "127.0.0.1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if browser:
            headers["Cookie"] = f"sessionid={self.session}"
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return Answer(response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()

    def get(self, path: str, **kwargs: object) -> Answer:
        return self.request("GET", path, **kwargs)  # type: ignore[arg-type]

    def page(self, path: str) -> Answer:
        return self.request("GET", path, browser=True)

    def api(self, path: str, token: str = "api") -> Answer:
        return self.request("GET", path, token=self.tokens[token])

    def everything(self, label: str) -> list[tuple[str, int]]:
        """One request of each kind the fault tests watch: pages, an API read, an ingest
        (a write: hostname from `label`), readiness; with their statuses."""
        return [
            ("dashboard", self.page("/").status),
            ("client list", self.page("/clients/").status),
            ("api clients", self.api("/api/v1/clients/").status),
            ("ingest", self.ingest(f"host-{label}").status),
            ("readyz", self.get("/readyz").status),
        ]

    def ingest(self, hostname: str) -> Answer:
        record = {
            "hostname": hostname,
            "license_status": "licensed",
            "activation_method": "kms",
            "last_renewal_at": "2026-06-01T08:00:00Z",
            "last_seen_at": "2026-06-02T08:00:00Z",
        }
        return self.request(
            "POST",
            "/api/v1/inventory/clients/",
            token=self.tokens["agent"],
            body={"clients": [record]},
        )


def _collectstatic(server: PortalServer, env: dict[str, str]) -> None:
    """Production pages need whitenoise's manifest. One collector at a time (xdist workers
    share the checkout's static folder), and none while the manifest is newer than every
    source (hashing and compressing every file again costs seconds)."""
    static_root = ROOT / ".run" / "staticfiles"
    manifest = static_root / "staticfiles.json"
    sources = [ROOT / "uv.lock", *(p for p in (ROOT / "static").rglob("*") if p.is_file())]
    newest = max(p.stat().st_mtime for p in sources)
    lock_path = ROOT / ".run" / "collectstatic.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.exists() and manifest.stat().st_mtime >= newest:
            return
        server.manage("collectstatic", "--no-input", "-v0", env=env)
