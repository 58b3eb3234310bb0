from allauth.account import views as account_views
from allauth.core.internal.ratelimit import decorator as rate_limited
from allauth.socialaccount.providers.openid_connect import views as oidc_views
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from licensing.views import health, metrics

handler500 = "licensing.views.errors.server_error"

admin.site.site_header = "Volume Licensing Portal administration"
# The admin signs in through the portal's login (second factor, lockout, audit), never its own.
admin.site.login = login_required(admin.site.login)
# Single sign-on counts against the same per-address sign-in limit as the login form
# (ACCOUNT_RATE_LIMITS["login"]); allauth limits passwords, codes and passkeys itself.
_sign_in_limit = rate_limited(app="allauth.account", action="login")

urlpatterns = [
    # Browsers ask for /favicon.ico when a page names none (a PDF, a JSON answer): the same icon.
    path("favicon.ico", health.favicon),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # Sign-in (django-allauth; docs/sign-in.md). "login" and "logout" keep their names.
    path("accounts/login/", account_views.login, name="login"),
    path("accounts/logout/", account_views.logout, name="logout"),
    path(
        "accounts/oidc/<str:provider_id>/login/",
        _sign_in_limit(oidc_views.login),
        name="openid_connect_login",
    ),
    path(
        "accounts/oidc/<str:provider_id>/login/callback/",
        _sign_in_limit(oidc_views.callback),
        name="openid_connect_callback",
    ),
    path("accounts/", include("allauth.urls")),
    # Django's set_language: the language picker of the sign-in page (a cookie; signed-in
    # people keep theirs in the profile, licensing.views.signin.account_language).
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("licensing.api.urls")),
    path("", include("licensing.urls")),
]
