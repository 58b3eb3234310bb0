"""The PowerShell agent (`licensing/agent/vlp-agent.ps1`, served at /agent/vlp-agent.ps1) and
the one-liner that installs it, with the portal URL and a token filled in."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

SCRIPT_PATH = Path(__file__).resolve().parent.parent / "agent" / "vlp-agent.ps1"
SCRIPT_URL_PATH = "/agent/vlp-agent.ps1"


@lru_cache(maxsize=1)
def script_text() -> str:
    return SCRIPT_PATH.read_text(encoding="utf-8")


def _ps_quote(value: str) -> str:
    """A PowerShell single-quoted string (a quote is doubled); no other character is special."""
    return "'" + value.replace("'", "''") + "'"


def install_command(portal_url: str, token: str, *, host_id: int | None = None) -> str:
    """The command an administrator runs (elevated) on a client, or on a KMS host with its
    reporter token and `host_id`: downloads the script from the portal and installs it."""
    base = portal_url.rstrip("/")
    args = f"-Install -PortalUrl {_ps_quote(base)} -Token {_ps_quote(token)}"
    if host_id is not None:
        args += f" -Mode Host -KmsHostId {int(host_id)}"
    script = _ps_quote(base + SCRIPT_URL_PATH)
    return (
        "powershell -NoProfile -ExecutionPolicy Bypass -Command "
        f'"& ([scriptblock]::Create((Invoke-RestMethod {script}))) {args}"'
    )
