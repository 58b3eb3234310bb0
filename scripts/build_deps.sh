#!/usr/bin/env bash
# System headers the Python dependencies build against: python-ldap (django-auth-ldap) has no
# wheel for Linux and compiles against OpenLDAP's and Cyrus SASL's headers. Installed from
# Debian's packages when missing; run by `make venv` before `uv sync`. gettext is the one
# run-time tool: it compiles the translation catalogues.
set -euo pipefail
missing=()
[ -f /usr/include/ldap.h ] || missing+=(libldap2-dev)
[ -f /usr/include/sasl/sasl.h ] || missing+=(libsasl2-dev)
command -v cc >/dev/null || missing+=(gcc)
# gettext's msgfmt compiles the translation catalogues (manage.py compilemessages).
command -v msgfmt >/dev/null || missing+=(gettext)
if [ ${#missing[@]} -gt 0 ]; then
  echo "build_deps: installing ${missing[*]}" >&2
  mkdir -p .run
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >.run/apt-build.log 2>&1; then
    tail -20 .run/apt-build.log >&2
    echo "build_deps: could not install ${missing[*]} (python-ldap needs them)" >&2
    exit 1
  fi
fi
