"""The one way the portal tells people something.

An event (``"kms.state_change"``, ``"mak.low_water"``, ...) is rendered from its templates under
``templates/licensing/notifications/<area>/<name>/`` (event ``<area>.<name>``): ``subject.txt`` (one line), ``body.txt`` and,
when present, ``body.html``. No service builds a message as a string.

The rendered message is handed to every channel in ``CHANNELS``. A channel is a callable
``(delivery: Delivery) -> int`` returning how many recipients it reached; e-mail is the first,
the organisation's webhook destinations (Teams, Slack, signed JSON) the second
(``webhooks.queue_deliveries``, added to ``CHANNELS`` by ``LicensingConfig.ready``). Each channel
delivers each event once however often the caller runs (outbox retries, two workers): e-mail
claims ``<once_key>`` through ``outbox.send_once``; webhooks write one delivery row per
destination and key (unique) and post it from the task ``licensing.webhooks.deliver``.

Language: each e-mail recipient reads the message in their own language (profile), else in the
organisation's; webhooks post it in the organisation's (``licensing.services.language``).

Choices: ``EVENTS`` names every event. A person may mute the e-mail of an event
(``NotificationMute``, page *My notifications*); an organisation's admins choose which events
each webhook destination receives (``WebhookDestination.events``, empty = all).

Failures: every channel is tried; a channel that raises releases its own claim (``send_once``
rolls back) and the first error reaches the caller after the others ran, whose task decides
whether to retry (see ``licensing/tasks.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from licensing.services import language, outbox

TEMPLATE_DIR = "licensing/notifications"

# Every event the portal notifies about: name -> what people see in their choices. A new event
# is added here and gets its templates under TEMPLATE_DIR/<area>/<name>/. The descriptions are
# read in each person's language.
EVENTS: dict[str, str | Promise] = {
    "kms.state_change": _("A KMS host changed state"),
    "kms.rogue_srv": _("An unregistered KMS host appeared in DNS"),
    "mak.low_water": _("A MAK pool fell below its low-water mark"),
    "mak.request_created": _("Extra MAK activations were requested"),
    "mak.request_decided": _("A request for extra activations was decided"),
    "inventory.digest": _("Daily digest of newly flagged clients"),
}
# Sent on demand only ("Send test" on a webhook destination); never muted, never subscribed.
TEST_EVENT = "ops.webhook_test"


@dataclass(frozen=True)
class Message:
    event: str
    subject: str
    text: str
    html: str | None


@dataclass(frozen=True)
class Delivery:
    """What a channel gets: the rendered message, who it is for, and the event's data."""

    message: Message
    once_key: str
    organisation_id: int | None
    recipients: Sequence[str]
    context: dict[str, Any] = field(default_factory=dict)
    # The language `message` is written in: the organisation's.
    language: str = language.ENGLISH


def portal_url(name: str, *args: Any, query: str = "") -> str:
    """An absolute link into the portal for a message (PORTAL_BASE_URL + the named route)."""
    url = settings.PORTAL_BASE_URL.rstrip("/") + reverse(name, args=args)
    return f"{url}?{query}" if query else url


def render(event: str, context: dict[str, Any], in_language: str = language.ENGLISH) -> Message:
    base = f"{TEMPLATE_DIR}/{event.replace('.', '/')}"
    with translation.override(in_language):
        subject = " ".join(render_to_string(f"{base}/subject.txt", context).split())
        text = render_to_string(f"{base}/body.txt", context).strip() + "\n"
        try:
            html: str | None = render_to_string(f"{base}/body.html", context)
        except TemplateDoesNotExist:
            html = None
    return Message(event=event, subject=subject, text=text, html=html)


def unmuted(event: str, recipients: Sequence[str]) -> list[str]:
    """The recipients who have not muted this event's e-mail (per-user choice)."""
    from licensing.models import NotificationMute

    muted = set(
        NotificationMute.objects.filter(event=event, user__email__in=list(recipients)).values_list(
            "user__email", flat=True
        )
    )
    return [r for r in recipients if r not in muted]


def send_email(delivery: Delivery) -> int:
    """E-mail channel: one message per language to the recipients who did not mute the event,
    each sent once per ``once_key`` (the organisation's language keeps the plain key)."""
    to = unmuted(delivery.message.event, list(delivery.recipients)) if delivery.recipients else []
    reached = 0
    for code, group in language.of_recipients(to, delivery.language).items():
        if code == delivery.language:
            message, key = delivery.message, delivery.once_key
        else:
            message = render(delivery.message.event, delivery.context, code)
            key = f"{delivery.once_key}@{code}"
        reached += outbox.send_once(key, _sender(message, group))
    return reached


def _sender(message: Message, to: list[str]) -> Callable[[], int]:
    def send() -> int:
        mail = EmailMultiAlternatives(message.subject, message.text, None, to)
        if message.html:
            mail.attach_alternative(message.html, "text/html")
        mail.send()
        return len(to)

    return send


# E-mail first; licensing/services/webhooks.py adds its channel when the app is ready
# (LicensingConfig.ready), so this module needs none of the channels it serves.
CHANNELS: list[Callable[[Delivery], int]] = [send_email]


def notify(
    event: str,
    *,
    once_key: str,
    organisation_id: int | None,
    recipients: Sequence[str],
    context: dict[str, Any],
) -> int:
    """Render `event` with `context` and deliver it on every channel; returns the number of
    e-mail recipients reached (0 when this `once_key` was delivered before)."""
    in_language = language.organisation_language(organisation_id)
    message = render(event, context, in_language)
    delivery = Delivery(
        message=message,
        once_key=once_key,
        organisation_id=organisation_id,
        recipients=recipients,
        context=context,
        language=in_language,
    )
    reached: list[int] = []
    errors: list[Exception] = []
    for channel in CHANNELS:
        try:
            reached.append(channel(delivery))
        except Exception as exc:  # the other channels still deliver; the first error is raised
            reached.append(0)
            errors.append(exc)
    if errors:
        raise errors[0]
    return reached[0] if reached else 0
