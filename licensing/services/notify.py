"""The one way the portal tells people something.

An event (``"kms.state_change"``, ``"mak.low_water"``, ...) is rendered from its templates under
``templates/licensing/notifications/<area>/<name>/`` (event ``<area>.<name>``): ``subject.txt`` (one line), ``body.txt`` and,
when present, ``body.html``. No service builds a message as a string.

The rendered message is handed to every channel in ``CHANNELS``. A channel is a callable
``(delivery: Delivery) -> int`` returning how many recipients it reached; e-mail is the first.
Each channel delivers each event once however often the caller runs (outbox retries, two
workers): it claims ``<once_key>`` (plus its own suffix) through ``outbox.send_once``.

Failures: a channel that raises releases its claim (``send_once`` rolls back) and the error
reaches the caller, whose task decides whether to retry (see ``licensing/tasks.py``).
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

from licensing.services import outbox

TEMPLATE_DIR = "licensing/notifications"


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


def portal_url(name: str, *args: Any, query: str = "") -> str:
    """An absolute link into the portal for a message (PORTAL_BASE_URL + the named route)."""
    url = settings.PORTAL_BASE_URL.rstrip("/") + reverse(name, args=args)
    return f"{url}?{query}" if query else url


def render(event: str, context: dict[str, Any]) -> Message:
    base = f"{TEMPLATE_DIR}/{event.replace('.', '/')}"
    subject = " ".join(render_to_string(f"{base}/subject.txt", context).split())
    text = render_to_string(f"{base}/body.txt", context).strip() + "\n"
    try:
        html: str | None = render_to_string(f"{base}/body.html", context)
    except TemplateDoesNotExist:
        html = None
    return Message(event=event, subject=subject, text=text, html=html)


def send_email(delivery: Delivery) -> int:
    """E-mail channel: one message to all recipients, sent once per ``once_key``."""
    to = list(delivery.recipients)
    if not to:
        return 0
    message = delivery.message

    def send() -> int:
        mail = EmailMultiAlternatives(message.subject, message.text, None, to)
        if message.html:
            mail.attach_alternative(message.html, "text/html")
        mail.send()
        return len(to)

    return outbox.send_once(delivery.once_key, send)


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
    message = render(event, context)
    delivery = Delivery(
        message=message,
        once_key=once_key,
        organisation_id=organisation_id,
        recipients=recipients,
        context=context,
    )
    reached = [channel(delivery) for channel in CHANNELS]
    return reached[0] if reached else 0
