from django.conf import settings
from django.db import models

from licensing.querysets import ScopedQuerySet


class SavedView(models.Model):
    """A user's named list view (filter + sort + page size) of one organisation's client list:
    the query string of the list, without the organisation, the cursor and empty parameters.
    Private to its user; listed as links above the list."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "user", "name"], name="saved_view_name_per_user"
            )
        ]

    def __str__(self) -> str:
        return self.name
