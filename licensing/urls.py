from django.urls import path

from licensing import urls_fleet, urls_inventory, urls_kms, urls_mak
from licensing.views import fleet, home, organisation, tokens

app_name = "licensing"

urlpatterns = [
    path("", fleet.dashboard, name="home"),
    path("organisation/switch/", home.switch_organisation, name="switch_organisation"),
    path(
        "organisation/settings/", organisation.organisation_settings, name="organisation_settings"
    ),
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    # Each area owns its own URL module (fleet browser, MAK vault, KMS hosts, inventory ingest).
    *urls_fleet.urlpatterns,
    *urls_mak.urlpatterns,
    *urls_kms.urlpatterns,
    *urls_inventory.urlpatterns,
]
