"""Page URLs of the inventory area (included by licensing/urls.py under the licensing: namespace)."""

urlpatterns: list = []
