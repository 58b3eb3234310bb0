"""Every /api/v1/ route: the router's viewsets by area, then the few plain API views."""

from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from licensing.api.views import fleet, inventory, kms, licences, mak, offline
from licensing.api.views.base import not_found

app_name = "api"

router = DefaultRouter()
# fleet
router.register("organisations", fleet.OrganisationViewSet, basename="organisation")
router.register("editions", fleet.EditionViewSet, basename="edition")
router.register("clients", fleet.ClientViewSet, basename="client")
# MAK
router.register("mak-pools", mak.MakPoolViewSet, basename="mak-pool")
router.register("mak-keys", mak.MakKeyViewSet, basename="mak-key")
router.register("mak-activations", mak.MakActivationViewSet, basename="mak-activation")
router.register("activation-requests", mak.ActivationRequestViewSet, basename="activation-request")
router.register(
    "offline-activations", offline.OfflineActivationViewSet, basename="offline-activation"
)
# KMS
router.register("kms-hosts", kms.KmsHostViewSet, basename="kms-host")
router.register("kms-findings", kms.DnsFindingViewSet, basename="kms-finding")
# licences
router.register("agreements", licences.AgreementViewSet, basename="agreement")
router.register("entitlements", licences.EntitlementViewSet, basename="entitlement")
router.register("licence-position", licences.LicencePositionViewSet, basename="licence-position")
# inventory
router.register("inventory/imports", inventory.ImportRunViewSet, basename="inventory-import")

urlpatterns = [
    path(
        "kms-hosts/<int:pk>/status-reports/",
        kms.StatusReportView.as_view(),
        name="kms-host-status-report",
    ),
    path("inventory/clients/", inventory.ClientIngestView.as_view(), name="inventory-ingest"),
    path(
        "inventory/status-text/", inventory.StatusTextView.as_view(), name="inventory-status-text"
    ),
    path("inventory/wmi/", inventory.WmiReportView.as_view(), name="inventory-wmi"),
    *router.urls,
    # Anything else under /api/v1/ is a JSON 404 in the one error shape (not the HTML page).
    re_path(r"^.*$", not_found, name="not-found"),
]
