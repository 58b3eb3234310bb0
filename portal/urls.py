from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from licensing.views import health

handler500 = "licensing.views.errors.server_error"

admin.site.site_header = "Volume Licensing Portal administration"

urlpatterns = [
    # Browsers ask for /favicon.ico when a page names none (a PDF, a JSON answer): the same icon.
    path("favicon.ico", health.favicon),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("licensing.api.urls")),
    path("", include("licensing.urls")),
]
