"""Liveness (/healthz: the process answers) and readiness (/readyz: it can do its job)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from licensing.models import Heartbeat

BEAT_STALE_AFTER_SECONDS = 300


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    ok = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        checks["migrations"] = "ok" if not pending else f"{len(pending)} pending"
        ok &= not pending
        beat = Heartbeat.objects.filter(name="beat").first()
        if beat is None:
            checks["beat"] = "never seen"
        else:
            age = (timezone.now() - beat.at).total_seconds()
            checks["beat"] = f"{int(age)}s ago" + (
                "" if age < BEAT_STALE_AFTER_SECONDS else " (stale)"
            )
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
        ok = False
    if settings.REDIS_URL:
        try:
            cache.set("readyz", "1", 5)
            checks["cache"] = "ok" if cache.get("readyz") == "1" else "error"
        except Exception as exc:
            checks["cache"] = f"error: {type(exc).__name__}"
        ok &= checks["cache"] == "ok"
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
