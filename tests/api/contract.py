"""The contract suite's live server: a production-mode portal (gunicorn, DEBUG off, the
production settings) on its own database of the test PostgreSQL, seeded with an organisation,
its data and three tokens (admin, manager, agent)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import psycopg

from tests.faults.harness import ROOT, PortalServer

SEED = """
import json
from django.utils import timezone
from licensing.models import Edition, Role, TokenScope
from licensing.services.mak import vault
from licensing.services.mak.requests import request_activations
from licensing.services.tokens import create_api_token
from tests import factories

org = factories.OrganisationFactory(name="Contract Ltd", slug="contract")
admin = factories.UserFactory(username="contract-admin")
manager = factories.UserFactory(username="contract-manager")
factories.MembershipFactory(user=admin, organisation=org, role=Role.ADMIN)
factories.MembershipFactory(user=manager, organisation=org, role=Role.MANAGER)
factories.ClientFactory.create_batch(5, organisation=org)
pool = factories.MakPoolFactory(organisation=org, agreement_number="12345678")
key = factories.MakKeyFactory(pool=pool)
request_activations(
    actor=admin, pool=pool, key=key, quantity=5, justification="growth",
    agreement_number="12345678", product_name="Office LTSC Professional Plus 2024",
)
host = factories.KmsHostFactory(organisation=org)
tokens = {
    "admin": create_api_token(actor=admin, organisation=org, name="admin")[1],
    "manager": create_api_token(actor=manager, organisation=org, name="manager")[1],
    "agent": create_api_token(
        actor=admin, organisation=org, name="agent", scope=TokenScope.AGENT
    )[1],
}
print(json.dumps({"session": "", "tokens": tokens}))
"""


# Every check is on (schemathesis.toml names the few per-operation exceptions and why);
# CONTRACT_EXCLUDE=check,... leaves checks out while investigating.
EXCLUDED_CHECKS = tuple(c for c in os.environ.get("CONTRACT_EXCLUDE", "").split(",") if c)


def fresh_database(base_url: str, name: str) -> str:
    """`name` dropped and created again on the server of `base_url`; its URL."""
    server = base_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def drop_database(url: str) -> None:
    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_portal(directory, name: str) -> PortalServer:
    url = fresh_database(os.environ["DATABASE_URL"], name)
    server = PortalServer(
        directory=directory,
        database_url=url,
        # No Redis: throttle counters of its tokens must not meet those of the tests' tokens
        # (same ids in another database); the portal then caches per process, as documented.
        redis_url="",
        # Production settings; throttles high enough that the suite measures the contract.
        extra_env={"API_THROTTLE_USER": "1000000/hour", "API_THROTTLE_INGEST": "1000000/hour"},
        seed=SEED,
    )
    server.start()
    return server


def schemathesis(
    server: PortalServer, token: str, report: str, max_examples: int
) -> tuple[int, str]:
    """Run the Schemathesis CLI with every check against the live server; (exit, output)."""
    exe = shutil.which("schemathesis", path=os.path.dirname(sys.executable))
    base = f"http://127.0.0.1:{server.port}"
    out = subprocess.run(
        [
            exe or "schemathesis",
            "--config-file",
            str(ROOT / "tests" / "api" / "schemathesis.toml"),
            "run",
            f"{base}/api/schema/",
            "--url",
            base,
            *(["--exclude-checks", ",".join(EXCLUDED_CHECKS)] if EXCLUDED_CHECKS else []),
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            str(max_examples),
            "--phases",
            "examples,fuzzing",
            "--workers",
            "2",
            "--seed",
            "11",
            "--generation-deterministic",
            "--report",
            "junit",
            "--report-junit-path",
            report,
            "--request-timeout",
            "30",
        ],
        cwd=report.rsplit("/", 1)[0],  # its .schemathesis/ cache lands beside the report
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    return out.returncode, out.stdout + out.stderr
