import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

from django.urls import get_resolver  # noqa: E402 (needs configured settings)

from portal.startup import require_secrets  # noqa: E402 (needs configured settings)

require_secrets()

# Import every URLconf and view now, while the worker starts, rather than in the first request
# it serves: that request took about a second longer (tests/licensing/test_auth_and_health.py).
get_resolver().url_patterns  # noqa: B018

# The cache backend too: the client list reads it, and importing redis-py took half a second
# of each worker's first list page (`fleet_first_request_after_start` in bench/bench_fleet.py).
from django.core.cache import caches  # noqa: E402 (needs configured settings)

caches["default"]
