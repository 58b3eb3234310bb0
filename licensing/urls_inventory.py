"""Page URLs of the inventory area (included by licensing/urls.py under the licensing: namespace)."""

from django.urls import path

from licensing.views import inventory

urlpatterns: list = [
    path("imports/", inventory.import_list, name="import_list"),
    path("imports/csv/", inventory.import_csv_upload, name="import_csv_upload"),
    path("imports/events/", inventory.import_events_upload, name="import_events_upload"),
    path("imports/<int:pk>/", inventory.import_detail, name="import_detail"),
    path(
        "imports/<int:pk>/rejected.csv",
        inventory.import_rejections_csv,
        name="import_rejections_csv",
    ),
]
