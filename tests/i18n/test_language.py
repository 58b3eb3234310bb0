"""Which language a page, an API answer, a CSV file and an e-mail are in (issue 15)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core import mail
from django.template import Context, Template
from django.test import Client as DjangoClient
from django.utils import translation

from licensing.models import AuditEvent, Profile
from licensing.services import language, notify
from tests import factories
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def test_a_page_follows_the_browser_and_the_api_stays_english(as_admin):
    page = as_admin.get("/account/", HTTP_ACCEPT_LANGUAGE="nb-NO,nb;q=0.9,en;q=0.5")
    assert page["Content-Language"] == "nb"
    assert "Lagre språk" in page.content.decode()
    assert "Accept-Language" in page["Vary"]

    english = as_admin.get("/account/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert english["Content-Language"] == "en-gb"
    assert "Save language" in english.content.decode()

    # DRF speaks Norwegian too; the portal's API never does.
    api = as_admin.get("/api/v1/clients/999999999/", HTTP_ACCEPT_LANGUAGE="nb")
    assert api.status_code == 404
    assert api["Content-Language"] == "en-gb"
    assert api.json()["detail"] == "Not found."  # DRF's Norwegian would be "Ikke funnet."


def test_csv_exports_are_the_same_bytes_whatever_the_browser_asks(as_admin, admin_user):
    org = admin_user.memberships.get().organisation
    factories.ClientFactory.create_batch(3, organisation=org)
    english = as_admin.get("/clients/export.csv", HTTP_ACCEPT_LANGUAGE="en")
    norwegian = as_admin.get("/clients/export.csv", HTTP_ACCEPT_LANGUAGE="nb")
    assert english.status_code == norwegian.status_code == 200
    assert b"".join(english.streaming_content) == b"".join(norwegian.streaming_content)
    assert norwegian["Content-Language"] == "en-gb"


def test_the_choice_in_the_profile_beats_the_browser_and_survives_a_new_sign_in(
    as_admin, admin_user
):
    response = as_admin.post("/account/language/", {"language": "nb"})
    assert response.status_code == 302
    assert Profile.objects.get(user=admin_user).language == "nb"
    assert as_admin.get("/account/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "nb"
    entry = AuditEvent.objects.get(action="account.language_changed")
    assert entry.changes == {"language": ["", "nb"]}

    # A new session (another browser) starts in the chosen language at sign-in.
    fresh = logged_in(admin_user)
    assert fresh.get("/account/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "nb"

    # Back to "as my browser asks": the browser decides again.
    as_admin.post("/account/language/", {"language": ""})
    assert Profile.objects.get(user=admin_user).language == ""
    assert as_admin.get("/account/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "en-gb"
    assert AuditEvent.objects.filter(action="account.language_changed").count() == 2


def test_an_unknown_language_is_refused_with_a_400_and_nothing_changes(as_admin, admin_user):
    response = as_admin.post("/account/language/", {"language": "xx"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Profile.objects.filter(user=admin_user, language="xx").exists()
    assert not AuditEvent.objects.filter(action="account.language_changed").exists()


def test_the_language_choice_needs_a_signed_in_person_and_a_post(as_admin):
    assert DjangoClient().post("/account/language/", {"language": "nb"}).status_code == 302
    assert as_admin.get("/account/language/").status_code == 405


def test_the_sign_in_page_offers_the_languages_through_a_cookie():
    client = DjangoClient()
    response = client.post("/i18n/setlang/", {"language": "nb", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert client.cookies["portal_language"].value == "nb"
    assert client.get("/accounts/login/")["Content-Language"] == "nb"


def test_dates_and_numbers_follow_the_language():
    template = Template('{% load humanize %}{{ d|date:"SHORT_DATE_FORMAT" }} {{ n|intcomma }}')
    context = Context({"d": dt.date(2026, 11, 29), "n": 1_000_000})
    with translation.override("nb"):
        assert template.render(context) == "29.11.2026 1\xa0000\xa0000"
        assert intcomma(1234) == "1\xa0234"
    with translation.override("en-gb"):
        assert template.render(context) == "2026-11-29 1,000,000"


def test_organisation_language_is_saved_and_audited(as_admin, admin_user):
    org = admin_user.memberships.get().organisation
    response = as_admin.post(
        f"/organisation/settings/?organisation={org.slug}",
        {"at_risk_days": org.at_risk_days, "stale_after_days": 90, "language": "nb"},
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.language == "nb"
    entry = AuditEvent.objects.filter(action="organisation.settings_changed").latest("id")
    assert entry.changes["language"] == ["en-gb", "nb"]
    bad = as_admin.post(
        f"/organisation/settings/?organisation={org.slug}",
        {"at_risk_days": org.at_risk_days, "stale_after_days": 90, "language": "xx"},
    )
    assert bad.status_code == 200  # the form again, with its error
    assert "Select a valid choice" in bad.content.decode()
    org.refresh_from_db()
    assert org.language == "nb"


def test_recipients_are_grouped_by_their_own_language_then_the_organisations(org):
    chooser = factories.UserFactory(username="reads-english")
    Profile.objects.create(user=chooser, language="en-gb")
    follower = factories.UserFactory(username="follows-organisation")
    org.language = "nb"
    org.save(update_fields=["language"])
    groups = language.of_recipients(
        [chooser.email, follower.email, "nobody@example.test"],
        language.organisation_language(org.pk),
    )
    # The organisation's language first: its e-mail keeps the plain once-key.
    assert list(groups) == ["nb", "en-gb"]
    assert groups == {
        "nb": [follower.email, "nobody@example.test"],
        "en-gb": [chooser.email],
    }


def test_each_language_group_gets_its_e_mail_once(org):
    org.language = "nb"
    org.save(update_fields=["language"])
    english = factories.UserFactory(username="english-reader")
    Profile.objects.create(user=english, language="en-gb")
    norwegian = factories.UserFactory(username="norwegian-reader")
    context = {"organisation": org, "destination": None, "actor": "test", "url": "http://x/"}
    for _attempt in range(2):  # a retried task sends nothing twice
        notify.notify(
            notify.TEST_EVENT,
            once_key="language-test",
            organisation_id=org.pk,
            recipients=[english.email, norwegian.email],
            context=context,
        )
    assert sorted(m.to[0] for m in mail.outbox) == sorted([english.email, norwegian.email])


@pytest.mark.django_db(transaction=True)
def test_two_sessions_choosing_at_once_leave_one_profile_and_no_error(admin_user):
    """The same person in two browsers saves a language at the same moment, eight times over:
    every save answers, one profile row remains, and each recorded change is a real one."""
    import threading

    from django.db import connection

    choices = ["nb", "en-gb"] * 4
    sessions = [logged_in(admin_user) for _ in choices]
    barrier = threading.Barrier(len(choices))
    statuses: list[int] = []
    lock = threading.Lock()

    def choose(session, code):
        try:
            barrier.wait(timeout=30)
            status = session.post("/account/language/", {"language": code}).status_code
        finally:
            connection.close()
        with lock:
            statuses.append(status)

    threads = [
        threading.Thread(target=choose, args=pair) for pair in zip(sessions, choices, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [302] * len(choices)
    assert Profile.objects.filter(user=admin_user).count() == 1
    final = Profile.objects.get(user=admin_user).language
    assert final in ("nb", "en-gb")
    changes = [
        e.changes["language"]
        for e in AuditEvent.objects.filter(action="account.language_changed").order_by("id")
    ]
    assert all(before != after for before, after in changes)
    assert changes[-1][1] == final
