"""The real Celery worker and beat processes exit non-zero, before they start, when production
secrets are missing (a signal handler cannot stop them: Celery logs its exception and goes on)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.licensing.test_auth_and_health import ROOT, _bare_env


@pytest.mark.parametrize(
    "command",
    [
        ["worker", "-P", "solo", "--without-heartbeat", "--without-mingle", "--without-gossip"],
        ["worker", "-P", "solo", "-B", "--without-mingle", "--without-gossip"],
        ["beat"],
    ],
    ids=["worker", "worker-with-beat", "beat"],
)
def test_celery_processes_exit_non_zero_without_secrets(command, tmp_path):
    env = _bare_env()
    if "beat" in command or "-B" in command:
        command = [*command, "--schedule", str(tmp_path / "schedule")]
    # Without the check these processes run until killed: the timeout is the failure.
    out = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "portal", *command, "-l", "info"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=90,
    )
    assert out.returncode != 0
    text = out.stderr + out.stdout
    assert "Set the SECRET_KEY environment variable" in text
    assert "FIELD_ENCRYPTION_KEYS" in text and "KEY_FINGERPRINT_PEPPER" in text
    assert "ready" not in text and "beat: Starting" not in text
