"""Page URLs of the fleet area (included by licensing/urls.py under the licensing: namespace)."""

urlpatterns: list = []
