"""API routes of the mak area, registered on the /api/v1/ router by licensing/api/urls.py."""

from rest_framework.routers import DefaultRouter

from licensing.api import mak

# Extra non-router API paths of this area (e.g. bulk endpoints).
urlpatterns: list = []


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the shared router."""
    router.register("mak-pools", mak.MakPoolViewSet, basename="mak-pool")
    router.register("mak-keys", mak.MakKeyViewSet, basename="mak-key")
    router.register("mak-activations", mak.MakActivationViewSet, basename="mak-activation")
    router.register(
        "activation-requests", mak.ActivationRequestViewSet, basename="activation-request"
    )
