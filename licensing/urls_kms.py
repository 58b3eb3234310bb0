"""Page URLs of the kms area (included by licensing/urls.py under the licensing: namespace)."""

from django.urls import path

from licensing.views import kms

urlpatterns: list = [
    path("kms/hosts/", kms.host_list, name="host_list"),
    path("kms/hosts/new/", kms.host_create, name="host_create"),
    path("kms/hosts/export.csv", kms.host_export, name="host_export"),
    path("kms/hosts/<int:pk>/", kms.host_detail, name="host_detail"),
    path("kms/hosts/<int:pk>/edit/", kms.host_edit, name="host_edit"),
    path("kms/hosts/<int:pk>/retire/", kms.host_retire, name="host_retire"),
    path("kms/hosts/<int:pk>/poll/", kms.host_poll_now, name="host_poll_now"),
    path("kms/hosts/<int:pk>/reveal-key/", kms.host_reveal_key, name="host_reveal_key"),
    path("kms/hosts/<int:pk>/tokens/", kms.host_token_create, name="host_token_create"),
    path("kms/hosts/<int:pk>/report/", kms.host_report_upload, name="host_report_upload"),
    path(
        "kms/hosts/<int:pk>/reports/<int:report_id>/",
        kms.host_report_detail,
        name="host_report_detail",
    ),
    path("kms/dns/", kms.dns_settings, name="kms_dns_settings"),
    path("kms/dns/scan/", kms.dns_scan, name="kms_dns_scan"),
]
