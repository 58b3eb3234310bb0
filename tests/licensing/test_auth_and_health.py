import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client as DjangoClient
from django.utils import timezone

from licensing.models import AuditEvent, Heartbeat
from tests import factories

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_login_page_and_successful_login(org, admin_user):
    client = DjangoClient()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post(
        "/accounts/login/", {"username": admin_user.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert org.name in client.get("/").content.decode()


def test_repeated_failures_lock_the_account_out(org, admin_user):
    client = DjangoClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": admin_user.username, "password": "wrong"})
    locked = client.post(
        "/accounts/login/", {"username": admin_user.username, "password": "correct-horse-battery"}
    )
    assert locked.status_code == 429
    assert "locked" in locked.content.decode().lower()


def test_production_hashes_passwords_with_argon2():
    env = {
        **os.environ,
        "PORTAL_TESTING": "0",
        "SECRET_KEY": "x" * 60,
        "FIELD_ENCRYPTION_KEYS": settings.FIELD_ENCRYPTION_KEYS[0],
        "KEY_FINGERPRINT_PEPPER": "p",
    }
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django,os;os.environ['DJANGO_SETTINGS_MODULE']='portal.settings';django.setup();"
            "from django.conf import settings;print(settings.PASSWORD_HASHERS[0])",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    assert out.stdout.strip() == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_production_settings_pass_the_deploy_check():
    env = {
        **os.environ,
        "PORTAL_TESTING": "0",
        "DEBUG": "0",
        "SECRET_KEY": "k3y-" + "q8Zr!vT2#mW9xL4$pN7" * 4,
        "FIELD_ENCRYPTION_KEYS": settings.FIELD_ENCRYPTION_KEYS[0],
        "KEY_FINGERPRINT_PEPPER": "a-long-random-pepper",
        "ALLOWED_HOSTS": "portal.example.com",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest in this process
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def _bare_env() -> dict[str, str]:
    """The environment of a production process whose operator set no secrets."""
    drop = {
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "KEY_FINGERPRINT_PEPPER",
        "DEBUG",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    }
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PORTAL_TESTING"] = "0"
    return env


@pytest.mark.parametrize(
    "command",
    [
        ["manage.py", "check", "--deploy"],
        ["-c", "import portal.wsgi"],  # what gunicorn does first
    ],
    ids=["check-deploy", "wsgi"],
)
def test_production_refuses_to_start_without_secrets(command):
    out = subprocess.run(
        [sys.executable, *command], capture_output=True, text=True, env=_bare_env(), cwd=ROOT
    )
    assert out.returncode != 0
    assert "Set the SECRET_KEY environment variable" in out.stderr + out.stdout


def test_a_web_worker_imports_its_views_before_it_serves():
    """Importing the URLconf and every view took about a second of the first request each worker
    served, and the cache backend (redis-py) half a second of its first client list page;
    portal/wsgi.py does both while the worker starts."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, portal.wsgi; "
            "print(all(m in sys.modules for m in "
            "('licensing.views.fleet', 'licensing.api.views.kms', 'licensing.urls', "
            "'portal.cache')))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_tooling_runs_on_a_bare_checkout_without_secrets():
    # makemigrations, migrate and friends need no production secrets (CI, packaging, reviews).
    out = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        capture_output=True,
        text=True,
        env=_bare_env(),
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "No changes detected" in out.stdout


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    Heartbeat.objects.create(name="beat", at=timezone.now())  # beat and a worker are running
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"


def test_the_admin_is_for_superusers_only(as_admin, superuser):
    assert as_admin.get("/admin/").status_code == 302
    root = DjangoClient()
    root.force_login(superuser, backend="django.contrib.auth.backends.ModelBackend")
    assert root.get("/admin/").status_code == 200
    assert root.get("/admin/licensing/client/").status_code == 200


def test_admin_edits_land_in_the_audit_trail(superuser):
    org = factories.OrganisationFactory(slug="audited")
    root = DjangoClient()
    root.force_login(superuser, backend="django.contrib.auth.backends.ModelBackend")
    response = root.post(
        f"/admin/licensing/organisation/{org.pk}/change/",
        {
            "name": "Audited Ltd",
            "slug": "audited",
            "dns_domains": "audited.example",
            "dns_resolvers": "",
            "at_risk_days": 20,
            "stale_after_days": 90,
            "language": "en-gb",
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action="admin.organisation.change")
    assert event.actor == superuser and "at_risk_days" in event.changes["fields"]


def test_pages_send_a_strict_content_security_policy(as_admin):
    response = as_admin.get("/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp
    # Every script, style sheet and font comes from our own static files, never another host.
    assert not re.search(r'(?:src|href)="(?:https?:)?//', response.content.decode())


def test_mail_is_captured_in_tests(mailoutbox):
    from django.core import mail

    mail.send_mail("subject", "body", None, ["a@example.test"])
    assert len(mailoutbox) == 1


def test_the_admin_cannot_move_a_kms_host_to_another_organisation(superuser, org, other_org):
    host = factories.KmsHostFactory(organisation=org, fqdn="kms-move.example.test")
    root = DjangoClient()
    root.force_login(superuser, backend="django.contrib.auth.backends.ModelBackend")
    page = root.get(f"/admin/licensing/kmshost/{host.pk}/change/").content.decode()
    assert 'name="organisation"' not in page
