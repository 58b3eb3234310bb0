"""What an organisation owns: volume licensing agreements, their licence lines (entitlements),
and the effective licence position computed from them against the fleet.

`LicencePosition` is read-only: a PostgreSQL view (migration 1100) that computes, per
organisation and edition, installs against entitlements with downgrade rights applied. See
`licensing/services/licences/position.py` and docs/licence-position.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from licensing.querysets import ScopedQuerySet

MAX_LICENCE_QUANTITY = 1_000_000


class Programme(models.TextChoices):
    ENTERPRISE_AGREEMENT = "ea", _("Enterprise Agreement")
    MPSA = "mpsa", "MPSA"
    OPEN_VALUE = "open_value", _("Open Value")
    SELECT_PLUS = "select_plus", _("Select Plus")
    CSP_PERPETUAL = "csp_perpetual", _("CSP perpetual")
    OTHER = "other", _("Other")


class Agreement(models.Model):
    """A volume licensing agreement (or enrolment) of an organisation."""

    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="agreements"
    )
    programme = models.CharField(max_length=16, choices=Programme.choices)
    number = models.CharField(_("Agreement / enrolment number"), max_length=60)
    starts_on = models.DateField(_("Start"))
    ends_on = models.DateField(_("End"), null=True, blank=True)
    sa_ends_on = models.DateField(_("Software Assurance end"), null=True, blank=True)
    reseller = models.CharField(max_length=120, blank=True)
    notes = models.TextField(max_length=2000, blank=True)
    # Enterprise Agreements: the date of the last annual true-up (the next one counts installs
    # added since then; the agreement's start when there was none yet).
    last_true_up_on = models.DateField(_("Last true-up"), null=True, blank=True)
    # Which end alert (days ahead: 90, then 30) was claimed last; reset when the date changes.
    end_alerted_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    sa_end_alerted_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "number"], name="agreement_number_per_org"
            ),
            models.CheckConstraint(
                condition=Q(programme__in=Programme.values), name="agreement_programme_valid"
            ),
            models.CheckConstraint(condition=~Q(number=""), name="agreement_number_not_empty"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="agreement_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(sa_ends_on__isnull=True) | Q(sa_ends_on__gte=F("starts_on")),
                name="agreement_sa_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        # Stored as the audit trail's object name: always English.
        with translation.override(settings.LANGUAGE_CODE):
            return self.title

    @property
    def title(self) -> str:
        """The agreement's name in the page's language ("Enterprise Agreement 123")."""
        return f"{self.get_programme_display()} {self.number}"


class Entitlement(models.Model):
    """A licence line of an agreement: so many per-device licences of one edition."""

    # Denormalised from the agreement (always the same, set by the service) so that scoping and
    # the position view need no join.
    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="entitlements")
    edition = models.ForeignKey(
        "licensing.Edition", on_delete=models.PROTECT, related_name="entitlements"
    )
    quantity = models.PositiveIntegerField()
    acquired_on = models.DateField(_("Acquired"))
    # Volume licences carry downgrade rights: a licence of an edition also covers the same
    # edition of an earlier version.
    downgrade_rights = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["agreement", "edition__name", "id"]
        indexes = [models.Index(fields=["organisation", "edition"], name="entitlement_org_edition")]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=MAX_LICENCE_QUANTITY),
                name="entitlement_quantity_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.edition}"


class LicencePosition(models.Model):
    """One row per organisation and edition that is installed or licensed (read-only view)."""

    id = models.BigIntegerField(primary_key=True)
    organisation = models.ForeignKey(
        "licensing.Organisation", on_delete=models.DO_NOTHING, related_name="+"
    )
    edition = models.ForeignKey("licensing.Edition", on_delete=models.DO_NOTHING, related_name="+")
    line = models.CharField(max_length=80)
    version = models.CharField(max_length=4)
    installed = models.BigIntegerField()
    licences = models.BigIntegerField()
    covered = models.BigIntegerField()
    # Installs of this edition covered by licences of a newer version (downgrade rights).
    covered_by_newer = models.BigIntegerField()
    surplus = models.BigIntegerField()
    shortfall = models.BigIntegerField()

    objects = ScopedQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "licensing_licence_position"
        ordering = ["line", "-version"]

    def __str__(self) -> str:
        return f"{self.edition_id}: {self.installed} installed, {self.covered} covered"


class ShortfallState(models.Model):
    """The last shortfall an organisation was told about: a change where a shortfall appears
    or grows is alerted once (`signature` = the shortfall per edition, `changed_at` keys it)."""

    organisation = models.OneToOneField(
        "licensing.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    signature = models.JSONField(default=dict)
    changed_at = models.DateTimeField()

    objects = ScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.organisation_id}: {self.signature}"
