"""Page URLs of the kms area (included by licensing/urls.py under the licensing: namespace)."""

urlpatterns: list = []
