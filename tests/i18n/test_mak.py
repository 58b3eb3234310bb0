"""The MAK and licence pages, their e-mails and their domain errors in Norwegian Bokmål (nb).

Needs the compiled nb catalogue (locale/nb/LC_MESSAGES/django.mo) holding the MAK and licence
translations. Pages in nb: the browser asks for it (Accept-Language). The API stays English.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import translation

from licensing.models import MakKey, Profile, Programme, RequestStatus
from licensing.services.mak import requests as mak_requests
from tests import factories
from tests.licences.conftest import entitle, install, make_agreement

pytestmark = pytest.mark.django_db

EDITION = "Office LTSC Professional Plus 2024"
NB = {"HTTP_ACCEPT_LANGUAGE": "nb"}


@pytest.fixture(autouse=True)
def _second_factor_gate_off(settings):
    # Approving needs a second factor by default; sign-in is tested in tests/signin/.
    settings.SIGNIN_SECRETS_REQUIRE_2FA = False


@pytest.fixture
def pool(org):
    pool = factories.MakPoolFactory(
        organisation=org, edition=factories.edition(EDITION), agreement_number="12345678"
    )
    factories.MakKeyFactory(pool=pool, activation_limit=1500, activations_used=1200)
    return pool


@pytest.fixture
def pending(pool, admin_user):
    return mak_requests.request_activations(
        actor=admin_user,
        pool=pool,
        key=pool.keys.get(),
        quantity=2500,
        justification="Kiosks for the new hall",
    )


def _page(client, url: str, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, url
    return response.content.decode()


def _read_as(client, url: str, norwegian: list[str], english: list[str]) -> None:
    """In nb the Norwegian texts are there and the English ones are not; in English (no
    Accept-Language) the other way round."""
    nb = _page(client, url, **NB)
    for text in norwegian:
        assert text in nb, text
    for text in english:
        assert text not in nb, text
    en = _page(client, url)
    for text in english:
        assert text in en, text
    for text in norwegian:
        assert text not in en, text


def test_the_pool_list_in_norwegian(pool, as_admin):
    _read_as(
        as_admin,
        reverse("licensing:pool_list"),
        norwegian=[
            "<title>MAK-pooler",
            "Forbrukstakt og når poolen går tom",
            "Forespørsler om ekstra aktiveringer",
            "Opprett poolen",
            "Nedre grense",
        ],
        english=["Burn rate and run-out", "Extra-activation requests", "Create pool"],
    )


def test_the_pool_page_in_norwegian_with_norwegian_numbers(pool, pending, as_admin):
    nb = _page(as_admin, reverse("licensing:pool_detail", args=[pool.pk]), **NB)
    for text in ("Aktiveringsgrense", "Be om ekstra aktiveringer", "Nøkler", "Aktiveringsregister"):
        assert text in nb, text
    # 1 500 + 2 500 approved later; for now the limit shows with a no-break space.
    assert "1\xa0500" in nb and "1,500" not in nb
    for text in ("Activation limit", "Request extra activations", "Activation ledger", "Keys<"):
        assert text not in nb, text
    en = _page(as_admin, reverse("licensing:pool_detail", args=[pool.pk]))
    assert "Activation limit" in en and "1,500" in en and "Aktiveringsgrense" not in en


def test_the_approval_queue_in_norwegian(pending, as_manager):
    _read_as(
        as_manager,
        reverse("licensing:approval_queue"),
        norwegian=[
            "<title>Godkjenninger",
            f"Nr. {pending.pk}: 2\xa0500 ekstra aktiveringer for {EDITION}",
            "Forretningsmessig begrunnelse",
            "Etter godkjenning",
            "grense 4\xa0000, gjenstår 2\xa0800",
            "Godkjenn 2\xa0500",
        ],
        english=[
            "extra activations for",
            "Business justification",
            "After approval",
            "Approve 2,500",
        ],
    )


def test_the_licence_position_in_norwegian(org, as_manager):
    agreement = make_agreement(org, "EA-1000")
    entitle(agreement, EDITION, 3)
    install(org, EDITION, 5)
    _read_as(
        as_manager,
        reverse("licensing:licence_position"),
        norwegian=["<title>Lisensbalanse", "Installasjoner", "Ubrukte lisenser", "Mangler"],
        english=["Unused licences", "of which by a newer version", "under-licensed"],
    )
    nb = _page(as_manager, reverse("licensing:licence_position"), **NB)
    assert "1 utgave underlisensiert" in nb


def test_request_created_e_mail_in_each_managers_language(
    pool,
    admin_user,
    manager_user,
    second_manager,
    tasks_in_process,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    Profile.objects.create(user=manager_user, language="nb")
    with django_capture_on_commit_callbacks(execute=True):
        mak_requests.request_activations(
            actor=admin_user,
            pool=pool,
            key=pool.keys.get(),
            quantity=2500,
            justification="Kiosks for the new hall",
        )
    by_recipient = {tuple(m.to): m for m in mailoutbox}
    assert set(by_recipient) == {(manager_user.email,), (second_manager.email,)}
    nb = by_recipient[(manager_user.email,)]
    # Thousands are grouped with a space (a no-break one in the body; subjects are one plain line).
    subject, body = nb.subject.replace("\xa0", " "), nb.body.replace("\xa0", " ")
    assert f"Godkjenning trengs: 2 500 ekstra aktiveringer av {EDITION}" in subject
    assert "ber om 2 500 ekstra MAK-aktiveringer" in body
    assert "Godkjenn eller avvis den i godkjenningskøen" in body
    assert "Approval needed" not in subject and "approvals queue" not in body
    en = by_recipient[(second_manager.email,)]
    assert f"Approval needed: 2,500 extra {EDITION} activations" in en.subject
    assert "asks for 2,500 extra MAK activations" in en.body
    assert "Godkjenning" not in en.subject + en.body


def test_a_domain_error_reads_in_norwegian_on_the_page_and_in_english_on_the_api(
    pending, as_manager, manager_user, org, api_token_for
):
    approve = reverse("licensing:request_approve", args=[pending.pk])
    assert as_manager.post(approve, {"note": "ok"}, **NB).status_code == 302
    # Deciding it again: the page says so in Norwegian...
    again = as_manager.post(approve, {"note": "ok"}, HTTP_HX_REQUEST="true", **NB)
    body = again.content.decode()
    assert "Denne forespørselen var allerede godkjent; ingenting ble endret." in body
    assert "already approved" not in body
    # ...and the API, asked in Norwegian too, answers in English.
    api = DjangoClient(**api_token_for(manager_user, org))
    answer = api.post(
        f"/api/v1/activation-requests/{pending.pk}/approve/",
        data=json.dumps({"note": "ok"}),
        content_type="application/json",
        **NB,
    )
    assert answer.status_code == 409
    assert answer.json()["detail"] == "This request was already approved; nothing was changed."
    assert MakKey.objects.get(pk=pending.key_id).activation_limit == 4000
    pending.refresh_from_db()
    assert pending.status == RequestStatus.APPROVED


def test_approving_twice_in_english_stays_english(pending, as_manager):
    approve = reverse("licensing:request_approve", args=[pending.pk])
    as_manager.post(approve, {"note": "ok"})
    body = as_manager.post(approve, {"note": "ok"}, HTTP_HX_REQUEST="true").content.decode()
    assert "This request was already approved; nothing was changed." in body
    assert "allerede" not in body


def test_an_agreement_keeps_its_english_name_for_the_audit_trail(org):
    agreement = make_agreement(org, "CSP-7", programme=Programme.CSP_PERPETUAL)
    with translation.override("nb"):
        assert agreement.title == "CSP evigvarende CSP-7"
        assert str(agreement) == "CSP perpetual CSP-7"
    assert agreement.title == "CSP perpetual CSP-7"
