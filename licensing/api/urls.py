from rest_framework.routers import DefaultRouter

from licensing.api import routes_fleet, routes_inventory, routes_kms, routes_mak, views

app_name = "api"

router = DefaultRouter()
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("editions", views.EditionViewSet, basename="edition")
router.register("clients", views.ClientViewSet, basename="client")
for area in (routes_fleet, routes_mak, routes_kms, routes_inventory):
    area.register(router)

urlpatterns = [
    *routes_fleet.urlpatterns,
    *routes_mak.urlpatterns,
    *routes_kms.urlpatterns,
    *routes_inventory.urlpatterns,
    *router.urls,
]
