"""Page URLs of the fleet area (included by licensing/urls.py under the licensing: namespace)."""

from django.urls import path

from licensing.views import fleet

urlpatterns: list = [
    path("global/", fleet.global_overview, name="global_overview"),
    path("clients/", fleet.client_list, name="client_list"),
    path("clients/export.csv", fleet.client_export, name="client_export"),
    path("clients/<int:pk>/", fleet.client_detail, name="client_detail"),
    path("audit/", fleet.audit_list, name="audit_list"),
    path("audit/export.csv", fleet.audit_export, name="audit_export"),
    path("reports/", fleet.reports, name="reports"),
]
