from django.urls import path

from licensing.views import home, tokens

app_name = "licensing"

urlpatterns = [
    path("", home.home, name="home"),
    path("organisation/switch/", home.switch_organisation, name="switch_organisation"),
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
]
