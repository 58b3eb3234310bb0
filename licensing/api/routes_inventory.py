"""API routes of the inventory area, registered on the /api/v1/ router by licensing/api/urls.py."""

from rest_framework.routers import DefaultRouter

# Extra non-router API paths of this area (e.g. bulk endpoints).
urlpatterns: list = []


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the shared router."""
