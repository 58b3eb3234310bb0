"""The one notification mechanism: messages come from templates, each is delivered once per
key, and no service sends mail any other way."""

from pathlib import Path

import pytest
from django.core import mail

from licensing.models import ActivationRequest
from licensing.services import notify
from licensing.services.mak.alerts import notify_request_created
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def test_a_message_is_rendered_from_its_templates_and_sent_once_per_key(org):
    context = {
        "organisation": org,
        "total": "1,234",
        "lines": [("Expired", "1,000"), ("Renewal overdue", "234")],
        "since": None,
        "url": "https://portal.example/clients/",
    }
    sent = notify.notify(
        "inventory.digest",
        once_key="test:digest:1",
        organisation_id=org.pk,
        recipients=["a@example.com", "b@example.com"],
        context=context,
    )
    again = notify.notify(
        "inventory.digest",
        once_key="test:digest:1",
        organisation_id=org.pk,
        recipients=["a@example.com"],
        context=context,
    )
    assert (sent, again) == (2, 0)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == f"[Volume Licensing] {org.name}: 1,234 client(s) newly flagged"
    assert "Expired: 1,000\nRenewal overdue: 234" in message.body
    assert "https://portal.example/clients/" in message.body


def test_text_templates_do_not_html_escape_user_data(org, admin_user, manager_user):
    pool = factories.MakPoolFactory(organisation=org)
    req = ActivationRequest.objects.create(
        pool=pool,
        requested_by=admin_user,
        quantity=5,
        product_name="Office <LTSC> & Co",
        key_last5="ABCDE",
        justification='R&D "lab" <machines>',
    )
    assert notify_request_created(request_id=req.pk) == 1
    (message,) = mail.outbox
    assert message.to == [manager_user.email]
    assert "&amp;" not in message.body and "&lt;" not in message.body
    assert 'R&D "lab" <machines>' in message.body


def test_no_service_sends_mail_except_through_notify():
    senders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "licensing").rglob("*.py")
        if path.name != "notify.py"
        and any(
            needle in path.read_text()
            for needle in ("send_mail(", "EmailMessage(", "EmailMultiAlternatives(")
        )
    ]
    assert senders == []
