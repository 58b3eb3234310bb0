"""Liveness (/healthz: the process answers) and readiness (/readyz: it can do its job)."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from licensing.models import Heartbeat


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _beat_check(body: dict[str, Any]) -> bool:
    """The age of the beat heartbeat (beat and a worker both alive), ready while it is fresh."""
    beat = Heartbeat.objects.filter(name="beat").first()
    if beat is None:
        body["checks"]["beat"] = "never seen"
        return False
    age = int((timezone.now() - beat.at).total_seconds())
    body["beat_age_seconds"] = age
    if age >= settings.READYZ_BEAT_STALE_SECONDS:
        body["checks"]["beat"] = (
            f"{age}s ago (stale: beat or the worker has not run for "
            f"{settings.READYZ_BEAT_STALE_SECONDS}s or more)"
        )
        return False
    body["checks"]["beat"] = f"{age}s ago"
    return True


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """503 when the database, the migrations or the beat heartbeat is not right. A Redis outage
    leaves the portal serving (cache misses, open throttles): reported, but still ready."""
    body: dict[str, Any] = {"checks": {}}
    checks = body["checks"]
    ready = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        checks["migrations"] = "ok" if not pending else f"{len(pending)} pending"
        ready &= not pending
        ready &= _beat_check(body)
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
        ready = False
    degraded = False
    if settings.REDIS_URL:
        probe = secrets.token_hex(8)
        cache.set("readyz", probe, 5)  # the cache logs and swallows a Redis failure
        degraded = cache.get("readyz") != probe
        checks["cache"] = "unavailable (serving without it)" if degraded else "ok"
    body["status"] = "unavailable" if not ready else "degraded" if degraded else "ok"
    return JsonResponse(body, status=200 if ready else 503)


def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico (asked for where a page names no icon): the portal's icon, by its static URL
    (resolved per request, so the hashed name of a collected manifest is used)."""
    from django.shortcuts import redirect
    from django.templatetags.static import static

    return redirect(static("favicon.svg"), permanent=True)
