"""API routes of the inventory area, registered on the /api/v1/ router by licensing/api/urls.py."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from licensing.api.inventory import ClientIngestView, ImportRunViewSet, StatusTextView

# Extra non-router API paths of this area (e.g. bulk endpoints).
urlpatterns: list = [
    path("inventory/clients/", ClientIngestView.as_view(), name="inventory-ingest"),
    path("inventory/status-text/", StatusTextView.as_view(), name="inventory-status-text"),
]


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the shared router."""
    router.register("inventory/imports", ImportRunViewSet, basename="inventory-import")
