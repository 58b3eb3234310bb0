"""No secret echoed, cached or kept in clear (issue 11): the one redaction of key-shaped text
(licensing.keyformat.redact) in its written variants and in each stored free-text field; NFKC
key characters; the browsable API off in production; no-store on pages showing a token."""

from __future__ import annotations

import json

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse

from licensing.crypto import InvalidProductKey, normalise_product_key
from licensing.keyformat import redact
from licensing.models import AuditEvent, ImportRejection, ImportRun, MakKey
from licensing.services.inventory import events
from tests import factories

KEY = "BCDFG-HJKMP-QRTVW-XY234-6789B"
COMPACT = KEY.replace("-", "")


@pytest.mark.parametrize(
    "text",
    [
        f"key {KEY} here",
        f"key {KEY.lower()} here",
        f"key {KEY.replace('-', ' ')} here",  # spaced
        f"product_key_{KEY}",  # after an underscore
        f"key={COMPACT}",
        f"glued{KEY}tail",  # glued to letters
        f"glued{COMPACT.lower()}x",
        f"PK:{KEY.replace('-', '_')}",  # underscored groups
        f"key {KEY.replace('-', '\u2013')} (en dash)",
        "key " + KEY.replace("B", "\uff22"),  # full-width letters
    ],
)
def test_every_written_variant_of_a_key_is_redacted(text):
    out = redact(text)
    assert "[REDACTED KEY" in out
    assert COMPACT not in out.upper().replace("-", "").replace(" ", "").replace("_", "")
    assert redact(out) == out


def test_ordinary_text_is_left_alone():
    text = "Office LTSC Professional Plus 2024, CMID 3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    assert redact(text) == text


def test_key_checks_use_nfkc_one_character_for_one():
    assert normalise_product_key(KEY.replace("B", "\uff22")) == KEY  # full-width B
    ligature = "\ufb00" + COMPACT[2:]  # "ﬀ" + 23 characters: was upper-cased to FF and taken
    with pytest.raises(InvalidProductKey):
        normalise_product_key(ligature)


def test_unreadable_status_text_is_stored_redacted(client, org, admin_user):
    from licensing.models import TokenScope
    from licensing.services.tokens import create_api_token

    _, agent = create_api_token(
        actor=admin_user, organisation=org, name="agent", scope=TokenScope.AGENT
    )
    for variant in (KEY, KEY.replace("-", " "), f"x_{KEY}", f"abc{COMPACT}"):
        response = client.post(
            "/api/v1/inventory/status-text/",
            data=json.dumps({"hostname": "pc-1", "text": f"garbage {variant} garbage"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {agent}",
        )
        assert response.status_code == 400
    stored = " ".join(
        f"{r.hostname} {r.reason} {r.raw}" for r in ImportRejection.objects.all()
    ) + " ".join(ImportRun.objects.values_list("message", flat=True))
    assert ImportRejection.objects.count() == 4
    assert COMPACT not in stored.upper().replace("-", "").replace(" ", "").replace("_", "")


def test_rejected_event_lines_are_stored_redacted(org):
    good = "0x0,5,pc-1,3f2504e0-4f89-11d3-9a0c-0305e82c3301,2026/6/14 9:00,0,1,0,"
    good += "68531fb9-5511-4989-97be-d11a0f55633f"
    spaced = good.replace("pc-1", KEY.replace("-", " "))  # field 3 quoted in the reason
    text = f"{good}\n{spaced}\n"
    run = events.import_kms_events(actor="cli", organisation=org, text=text)
    assert run.status == "done" and run.rejected == 1
    stored = " ".join(f"{r.reason} {r.raw}" for r in ImportRejection.objects.all())
    assert "REDACTED KEY" in stored and COMPACT not in stored.replace("-", "").replace(" ", "")


def test_labels_reasons_and_audit_entries_are_redacted(as_admin, org, admin_user):
    from licensing.services.mak import vault

    pool = factories.MakPoolFactory(organisation=org)
    key = vault.add_key(
        actor=admin_user,
        pool=pool,
        key="VK7JG-NPHTM-C97JM-9MPGT-3V66T",
        activation_limit=5,
        label=f"spare {KEY.replace('-', ' ')}",
    )
    vault.block_key(actor=admin_user, key=key, reason=f"leaked_{KEY}")
    key = MakKey.objects.get(pk=key.pk)
    assert "REDACTED" in key.label and "REDACTED" in key.blocked_reason
    dump = json.dumps(list(AuditEvent.objects.values("changes", "object_repr")))
    assert COMPACT not in dump.replace("-", "").replace(" ", "").replace("_", "")


def test_the_browsable_api_is_off_in_production(as_admin, org, settings):
    assert settings.DEBUG is False
    pool = factories.MakPoolFactory(organisation=org)
    for path, body in [
        ("/api/v1/mak-keys/", {"pool": pool.pk, "key": KEY, "activation_limit": "x"}),
        ("/api/v1/mak-keys/import/", {"pool": pool.pk, "csv": f"key\n{KEY}\n"}),
        ("/api/v1/kms-hosts/", {"fqdn": "", "host_key": KEY, "product_group": "nope"}),
    ]:
        response = as_admin.post(
            path, data=json.dumps(body), content_type="application/json", HTTP_ACCEPT="text/html"
        )
        assert response.status_code in (400, 406)
        assert response["Content-Type"].startswith("application/json")
        assert KEY not in response.content.decode() and "<form" not in response.content.decode()


def test_pages_that_show_a_new_token_are_not_stored(as_admin, org):
    response = as_admin.post(reverse("licensing:token_list"), {"name": "ci", "days": 30})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    host = factories.KmsHostFactory(organisation=org)
    response = as_admin.post(reverse("licensing:host_token_create", args=[host.pk]))
    assert "no-store" in response["Cache-Control"]


def test_anonymous_api_errors_never_render_html(db):
    response = DjangoClient().get("/api/v1/clients/", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert response.status_code == 401 and response["Content-Type"] == "application/json"
