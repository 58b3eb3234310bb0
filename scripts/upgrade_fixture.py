"""Build the upgrade test's fixture: a database created and seeded by a previous release.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python scripts/upgrade_fixture.py [COMMIT]      # default: de3c1d2

Checks out COMMIT into a temporary git worktree, creates a scratch database, runs that
release's `migrate` and `seed_demo --clients 200` (with the public development secrets of
PORTAL_TESTING, so no real secret is in the fixture), and writes
`tests/ops/fixtures/release-<COMMIT>.dump` (pg_dump custom format). The upgrade test
(tests/ops/test_upgrade.py) restores it and migrates it with the current code. Make a new
fixture at each release and keep the older ones: each is an upgrade path that must keep working.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_COMMIT = "de3c1d2"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from portal.scratch_db import drop_database, ensure_database, sibling_url

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commit", nargs="?", default=DEFAULT_COMMIT, help="the release's commit")
    commit = parser.parse_args().commit
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    url = sibling_url(base, f"portal_upgrade_fixture_{uuid.uuid4().hex[:8]}")
    out = ROOT / "tests" / "ops" / "fixtures" / f"release-{commit}.dump"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="portal-release-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True
        )
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PORTAL_TESTING": "1",
            "DATABASE_POOL": "0",
            "CELERY_BROKER_URL": "filesystem://",
            "CELERY_FILESYSTEM_DIR": str(Path(tmp) / "broker"),
        }
        ensure_database(url)
        try:
            py = str(ROOT / ".venv" / "bin" / "python")
            subprocess.run(
                [py, "manage.py", "migrate", "--no-input", "-v0"], cwd=tree, env=env, check=True
            )
            subprocess.run(
                [py, "manage.py", "seed_demo", "--clients", "200"], cwd=tree, env=env, check=True
            )
            subprocess.run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--file",
                    str(out),
                    url,
                ],
                check=True,
            )
        finally:
            drop_database(url)
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
