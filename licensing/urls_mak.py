"""Page URLs of the mak area (included by licensing/urls.py under the licensing: namespace)."""

urlpatterns: list = []
