"""/metrics for Prometheus: off (404) unless METRICS_TOKEN or METRICS_ALLOWED_NETWORKS is set;
every one that is set must pass."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from licensing.services import audit, metrics


def _network_ok(request: HttpRequest) -> bool:
    address = audit.client_ip(request)
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(
        ip in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOWED_NETWORKS
    )


def _token_ok(request: HttpRequest) -> bool:
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header.startswith("Bearer ") else ""
    return bool(given) and hmac.compare_digest(given.encode(), settings.METRICS_TOKEN.encode())


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_NETWORKS:
        raise Http404("Metrics are not enabled.")
    if settings.METRICS_ALLOWED_NETWORKS and not _network_ok(request):
        return HttpResponse(
            "Forbidden: this address may not read the metrics.\n",
            status=403,
            content_type="text/plain",
        )
    if settings.METRICS_TOKEN and not _token_ok(request):
        response = HttpResponse(
            "A bearer token is required.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.render(), content_type=metrics.CONTENT_TYPE)
