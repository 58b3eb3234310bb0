# Volume Licensing Portal: `make run` for the demo, `make test` for the whole suite.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
PYTHON_BIN ?= $(shell for p in $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 $$(command -v python3.13); do "$$p" -c 'import sys' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help venv run test lint bench clean stop vendor docs prod-check messages

help:
	@echo "make run    - set up and run the portal with demo data (embedded PostgreSQL, file broker)"
	@echo "make test   - set up and run lint, migration check and the whole test suite"
	@echo "make bench  - benchmarks at 1,000,000 clients (separate database), writes bench/results.json"
	@echo "make stop   - stop the embedded PostgreSQL of make run"
	@echo "make docs   - build the documentation site into .run/site"
	@echo "make messages - collect the strings to translate into locale/<lang>/LC_MESSAGES/django.po"
	@echo "make prod-check - start gunicorn, a Celery worker and beat in production mode and check them"

.tools/bin/uv:
	@test -n "$(PYTHON_BIN)" || { echo "Python 3.13 not found (install it, or set PYTHON_BIN)"; exit 1; }
	$(PYTHON_BIN) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	scripts/build_deps.sh
	$(UV) sync --frozen --python "$(PYTHON_BIN)" --quiet
	touch $@

venv: .venv/.synced

run: venv
	mkdir -p .run
	if [ -z "$${DATABASE_URL:-}" ]; then export DATABASE_URL="$$($(PY) scripts/embedded_pg.py start portal)"; fi
	export CELERY_BROKER_URL="$${CELERY_BROKER_URL:-filesystem://}"
	export DEBUG="$${DEBUG:-1}"
	$(PY) manage.py compilemessages -v0 $(I18N_IGNORE)
	$(PY) manage.py migrate --no-input -v0
	$(PY) manage.py seed_demo
	OIDC_PID=
	if [ -z "$${OIDC_ISSUER:-}" ]; then
	  # A local OpenID Connect provider (oidc-provider-mock) for the single sign-on demo.
	  OIDC_PORT="$$($(PY) -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
	  mapfile -t OIDC_USERS < <($(PY) manage.py seed_sign_in_demo --print-users)
	  $(PY) -m oidc_provider_mock --host 127.0.0.1 --port "$$OIDC_PORT" "$${OIDC_USERS[@]/#/--user-claims=}" >.run/oidc.log 2>&1 &
	  OIDC_PID=$$!
	  export OIDC_ISSUER="http://127.0.0.1:$$OIDC_PORT" OIDC_CLIENT_ID=portal-demo OIDC_CLIENT_SECRET=demo-only-client-secret OIDC_PROVIDER_NAME="Demo identity provider"
	  echo "Demo identity provider: $$OIDC_ISSUER (log: .run/oidc.log)"
	fi
	$(PY) manage.py seed_sign_in_demo
	$(PY) -m celery -A portal worker -B -P threads -c 2 -l warning --schedule .run/celerybeat-schedule >.run/celery.log 2>&1 &
	CELERY_PID=$$!
	trap 'kill $$CELERY_PID $$OIDC_PID 2>/dev/null || true' EXIT
	echo "Celery worker and beat running (log: .run/celery.log)."
	echo "Portal: http://$(HOST):$(PORT)/  (demo logins above, password demo-portal-2026)"
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload

# Only the portal's own catalogues: not the virtualenv's packages, docs or tests.
I18N_IGNORE := --ignore=.venv --ignore=.tools --ignore=.run --ignore=tests --ignore=bench --ignore=docs --ignore=deploy --ignore=scripts

messages: venv
	# Collect every marked string (LANGUAGE=xx starts a new language); translate the new entries
	# in locale/<lang>/LC_MESSAGES/django.po, then `make test`.
	$(PY) manage.py makemessages $(if $(LANGUAGE),--locale $(LANGUAGE),--all) --no-obsolete --add-location file $(I18N_IGNORE)

stop:
	$(PY) scripts/embedded_pg.py stop

test: venv
	eval "$$(scripts/test_env.sh)"
	export PORTAL_TESTING=1 CELERY_BROKER_URL="$${CELERY_BROKER_URL:-$$REDIS_URL}"
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	# Its history check reads the server's maintenance database, which always exists (the
	# portal's own may not yet on a fresh machine: a warning, not a check).
	DATABASE_URL="$${DATABASE_URL%/*}/postgres" $(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py compilemessages -v0 $(I18N_IGNORE)
	$(PY) -m pytest -n 2 --durations=15 $(PYTEST_ARGS)

lint: venv
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

bench: venv
	eval "$$(scripts/test_env.sh)"
	$(PY) bench/run.py $(BENCH_ARGS)

prod-check: venv
	eval "$$(scripts/test_env.sh)"
	$(PY) scripts/prod_check.py

vendor:
	# Refresh the vendored front-end files (committed; no node at run time).
	tmp=$$(mktemp -d); cd $$tmp; npm pack --silent bootstrap@5.3.8 bootstrap-icons@1.13.1 >/dev/null
	tar xzf bootstrap-5.3.8.tgz; mkdir bi; tar xzf bootstrap-icons-1.13.1.tgz -C bi; cd - >/dev/null
	cp $$tmp/package/dist/css/bootstrap.min.css* static/vendor/bootstrap/css/
	cp $$tmp/package/dist/js/bootstrap.bundle.min.js* static/vendor/bootstrap/js/
	cp -r $$tmp/bi/package/font/bootstrap-icons.min.css $$tmp/bi/package/font/fonts static/vendor/bootstrap-icons/

clean:
	rm -rf .venv .tools .run/staticfiles

docs: venv
	$(PY) scripts/docs_gen.py
	$(PY) -m mkdocs build --strict --quiet
	echo "Docs built into .run/site/"
