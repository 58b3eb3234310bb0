from rest_framework.routers import DefaultRouter

from licensing.api import views

app_name = "api"

router = DefaultRouter()
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("editions", views.EditionViewSet, basename="edition")
router.register("clients", views.ClientViewSet, basename="client")

urlpatterns = router.urls
