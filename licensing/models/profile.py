from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Profile(models.Model):
    """A person's own choices that are not about one organisation."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_profile"
    )
    # Empty: follow the browser on pages, and the organisation's language in e-mails.
    language = models.CharField(
        _("Language"), max_length=8, blank=True, default="", choices=settings.LANGUAGES
    )

    def __str__(self) -> str:
        return f"profile of {self.user}"
