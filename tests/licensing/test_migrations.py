"""The data migration loads Microsoft's GVLK table; the audit trail is append-only."""

import re

import pytest
from django.db import DatabaseError, connection, transaction

from licensing.models import AuditEvent, Edition
from licensing.services import audit

pytestmark = pytest.mark.django_db

VERSIONS = {"2024", "2021", "2019", "2016", "2013"}
PRODUCTS = {"proplus", "standard", "project_pro", "project_std", "visio_pro", "visio_std"}


def test_every_version_has_all_six_volume_products():
    builtin = Edition.objects.filter(is_builtin=True)
    assert {(e.version, e.product) for e in builtin} == {(v, p) for v in VERSIONS for p in PRODUCTS}
    assert builtin.count() == 30


def test_gvlks_match_microsofts_table():
    assert (
        Edition.objects.get(name="Office LTSC Professional Plus 2024").gvlk
        == "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB"
    )
    assert (
        Edition.objects.get(name="Office Professional Plus 2016").gvlk
        == "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99"
    )
    assert Edition.objects.get(name="Visio Standard 2013").gvlk == "J484Y-4NKBF-W2HMG-DBMJC-PGWR7"
    for e in Edition.objects.all():
        assert re.fullmatch(
            r"([BCDFGHJKMNPQRTVWXY2346789]{5}-){4}[BCDFGHJKMNPQRTVWXY2346789]{5}", e.gvlk
        )
        assert e.gvlk.count("N") <= 1
        assert e.kms_product_group == f"office_{e.version}"


def test_known_sku_ids_are_loaded():
    assert (
        str(Edition.objects.get(name="Office LTSC Professional Plus 2021").sku_id)
        == "fbdb3e18-a8ef-4fb3-9183-dffd60bd0984"
    )


def test_audit_rows_cannot_be_changed_or_deleted():
    event = audit.record(action="test.event", actor="cli")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM licensing_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"
