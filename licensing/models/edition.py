from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from licensing.keyformat import KEY_ALPHABET, PRODUCT_KEY_REGEX

__all__ = ["KEY_ALPHABET", "PRODUCT_KEY_REGEX", "Edition", "OfficeVersion", "Product"]


class OfficeVersion(models.TextChoices):
    LTSC_2024 = "2024", "Office LTSC 2024"
    LTSC_2021 = "2021", "Office LTSC 2021"
    V2019 = "2019", "Office 2019"
    V2016 = "2016", "Office 2016"
    V2013 = "2013", "Office 2013"


class Product(models.TextChoices):
    PROFESSIONAL_PLUS = "proplus", "Professional Plus"
    STANDARD = "standard", "Standard"
    PROJECT_PROFESSIONAL = "project_pro", "Project Professional"
    PROJECT_STANDARD = "project_std", "Project Standard"
    VISIO_PROFESSIONAL = "visio_pro", "Visio Professional"
    VISIO_STANDARD = "visio_std", "Visio Standard"
    APPLICATION = "app", _("Single application")


class Edition(models.Model):
    """An Office volume edition with its public KMS client setup key (GVLK).

    Built-in rows come from Microsoft's GVLK table (data migration 0002); admins may add more.
    """

    name = models.CharField(max_length=120, unique=True)
    version = models.CharField(max_length=4, choices=OfficeVersion.choices)
    product = models.CharField(max_length=16, choices=Product.choices)
    # GVLKs are public keys published by Microsoft, so they are stored in clear.
    gvlk = models.CharField("GVLK", max_length=29, unique=True)
    sku_id = models.UUIDField("SKU id", null=True, blank=True, unique=True)
    # One Office KMS host key activates every edition of its version (DOMAIN.md 2.4).
    kms_product_group = models.CharField(max_length=60)
    # Downgrade rights run within a product line: the product, or for a single application
    # (product "app") this application's name, so Access 2024 covers Access 2021, never Excel.
    application = models.CharField(max_length=60, blank=True)
    is_builtin = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(gvlk__regex=PRODUCT_KEY_REGEX),
                name="edition_gvlk_shape",
                violation_error_message=_(
                    "A GVLK is five groups of five characters from the product key alphabet."
                ),
            ),
            models.CheckConstraint(
                condition=Q(version__in=OfficeVersion.values), name="edition_version_valid"
            ),
            models.CheckConstraint(
                condition=Q(product__in=Product.values), name="edition_product_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def gvlk_last5(self) -> str:
        return self.gvlk[-5:]
