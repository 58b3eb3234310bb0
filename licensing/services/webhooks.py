"""The webhook channel of `licensing.services.notify`: an organisation's destinations (Microsoft
Teams, Slack, generic JSON signed with HMAC-SHA256) and the delivery of each message to them.

- `queue_deliveries(delivery)` (the channel): one `WebhookDelivery` row per enabled destination
  subscribed to the event, written in the caller's transaction with
  `INSERT … ON CONFLICT (destination, once_key) DO NOTHING` (a notification delivered twice posts
  once), and one outbox message `licensing.webhooks.deliver(id)` per new row.
- `deliver(delivery_id)` (the task's body): lease the row, POST it (timeout
  `WEBHOOK_TIMEOUT_SECONDS`, no redirects followed), record the outcome. A timeout, a refused
  connection, 408, 429 or 5xx is retried with exponential back-off up to `WEBHOOK_MAX_ATTEMPTS`;
  any other 4xx fails at once (the destination refuses this message: retrying will not help).
- Destinations are managed by the organisation's administrators (`MANAGE_ORGANISATION`), every
  change audited. The URL and the signing secret are encrypted (`licensing.crypto`) and never
  shown, logged or audited; pages show `url_hint`.

Signed JSON: the body is `{"event", "delivery", "organisation", "subject", "text", "link",
"created_at"}`; headers `X-Portal-Event`, `X-Portal-Delivery` (the same id on every retry: a
receiver drops duplicates by it), `X-Portal-Timestamp` (Unix seconds) and
`X-Portal-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from licensing import policy, stored_text
from licensing.crypto import decrypt_secret, encrypt_secret
from licensing.models import (
    DeliveryStatus,
    Organisation,
    WebhookDelivery,
    WebhookDestination,
    WebhookKind,
)
from licensing.services import audit, language, outbox
from licensing.services.errors import ConflictError, InvalidInput

if TYPE_CHECKING:
    from licensing.services.notify import Delivery

DELIVER_TASK = "licensing.webhooks.deliver"
USER_AGENT = "VolumeLicensingPortal-Webhook/1"


# --- destinations ----------------------------------------------------------------------------


def url_hint(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


def _check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    allowed = ("https", "http") if settings.WEBHOOK_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise InvalidInput(
            field_errors={
                "url": _("Enter the full webhook URL starting with https:// (or http://).")
                if settings.WEBHOOK_ALLOW_HTTP
                else _(
                    "Enter the full webhook URL starting with https:// (plain http is not allowed)."
                )
            }
        )
    if len(url) > 2000:
        raise InvalidInput(field_errors={"url": _("A webhook URL has at most 2,000 characters.")})
    return url


def _check_events(events: list[str]) -> list[str]:
    from licensing.services.notify import EVENTS

    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise InvalidInput(
            field_errors={
                "events": _("Unknown event(s): %(events)s.") % {"events": ", ".join(unknown)}
            }
        )
    return [e for e in EVENTS if e in set(events)]


@dataclass(frozen=True)
class CreatedDestination:
    destination: WebhookDestination
    secret: str  # the signing secret of a JSON destination, shown once ("" for the others)


@transaction.atomic
def create_destination(
    *,
    actor: Any,
    organisation: Organisation,
    name: str,
    kind: str,
    url: str,
    events: list[str],
    secret: str = "",
    ip_address: str | None = None,
) -> CreatedDestination:
    policy.require(actor, policy.Action.MANAGE_ORGANISATION, organisation)
    url = _check_url(url)
    name = (name or "").strip()
    if not name:
        raise InvalidInput(field_errors={"name": _("Give the destination a name.")})
    if kind not in WebhookKind.values:
        raise InvalidInput(field_errors={"kind": _("Choose Teams, Slack or generic JSON.")})
    if WebhookDestination.objects.filter(organisation=organisation, name=name).exists():
        raise ConflictError(
            _("This organisation already has a destination of that name."),
            field_errors={"name": _("This organisation already has a destination of that name.")},
        )
    secret = secret.strip()
    if kind == WebhookKind.JSON:
        if secret and len(secret) < 16:
            raise InvalidInput(
                field_errors={"secret": _("A signing secret has at least 16 characters.")}
            )
        secret = secret or secrets.token_urlsafe(32)
    else:
        secret = ""
    dest = WebhookDestination.objects.create(
        organisation=organisation,
        name=name,
        kind=kind,
        url_ciphertext=encrypt_secret(url),
        url_hint=url_hint(url),
        secret_ciphertext=encrypt_secret(secret) if secret else "",
        events=_check_events(events),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit.record(
        action="webhook.created",
        actor=actor,
        organisation=organisation,
        obj=dest,
        changes={"name": name, "kind": kind, "url": dest.url_hint, "events": dest.events},
        ip_address=ip_address,
    )
    return CreatedDestination(destination=dest, secret=secret)


@transaction.atomic
def update_destination(
    *,
    actor: Any,
    destination: WebhookDestination,
    events: list[str],
    enabled: bool,
    url: str = "",
    ip_address: str | None = None,
) -> WebhookDestination:
    """Change the events, switch it on or off, or replace the URL (blank keeps the stored one)."""
    policy.require(actor, policy.Action.MANAGE_ORGANISATION, destination.organisation_id)
    dest = WebhookDestination.objects.select_for_update().get(pk=destination.pk)
    changes: dict[str, Any] = {}
    events = _check_events(events)
    if events != dest.events:
        changes["events"] = [dest.events, events]
        dest.events = events
    if enabled != dest.enabled:
        changes["enabled"] = [dest.enabled, enabled]
        dest.enabled = enabled
    if url.strip():
        url = _check_url(url)
        dest.url_ciphertext = encrypt_secret(url)
        changes["url"] = [dest.url_hint, url_hint(url)]  # hints only, never the URL
        dest.url_hint = url_hint(url)
    if changes:
        dest.save()
        audit.record(
            action="webhook.updated",
            actor=actor,
            organisation=dest.organisation_id,
            obj=dest,
            changes=changes,
            ip_address=ip_address,
        )
    return dest


@transaction.atomic
def delete_destination(
    *, actor: Any, destination: WebhookDestination, ip_address: str | None = None
) -> None:
    policy.require(actor, policy.Action.MANAGE_ORGANISATION, destination.organisation_id)
    audit.record(
        action="webhook.deleted",
        actor=actor,
        organisation=destination.organisation_id,
        obj=destination,
        changes={"name": destination.name, "url": destination.url_hint},
        ip_address=ip_address,
    )
    destination.delete()


@transaction.atomic
def send_test(
    *, actor: Any, destination: WebhookDestination, ip_address: str | None = None
) -> WebhookDelivery:
    """ "Send test": the test message (rendered from its templates like every other) queued for
    this destination only, even when it is switched off or not subscribed to anything."""
    from licensing.services import notify

    policy.require(actor, policy.Action.MANAGE_ORGANISATION, destination.organisation_id)
    now = timezone.now()
    message = notify.render(
        notify.TEST_EVENT,
        {
            "destination": destination,
            "organisation": destination.organisation,
            "actor": actor,
            "url": notify.portal_url("licensing:webhook_list"),
        },
        destination.organisation.language,
    )
    ids = _insert_deliveries(
        [destination.pk],
        organisation_id=destination.organisation_id,
        event=message.event,
        once_key=f"{notify.TEST_EVENT}:{destination.pk}:{now.isoformat()}",
        subject=message.subject,
        text=message.text,
        link=notify.portal_url("licensing:webhook_list"),
    )
    audit.record(
        action="webhook.test_sent",
        actor=actor,
        organisation=destination.organisation_id,
        obj=destination,
        ip_address=ip_address,
    )
    outbox.enqueue_many(DELIVER_TASK, ([pk] for pk in ids))
    return WebhookDelivery.objects.get(pk=ids[0])


# --- the channel -----------------------------------------------------------------------------


def queue_deliveries(delivery: Delivery) -> int:
    """The channel: a delivery row for each enabled destination of the organisation that takes
    this event, once per (destination, once_key); returns how many were new."""
    if delivery.organisation_id is None:
        return 0
    event = delivery.message.event
    dest_ids = [
        pk
        for pk, events in WebhookDestination.objects.filter(
            organisation_id=delivery.organisation_id, enabled=True
        ).values_list("pk", "events")
        if not events or event in events
    ]
    if not dest_ids:
        return 0
    link = delivery.context.get("url", "") if isinstance(delivery.context, dict) else ""
    with transaction.atomic():
        ids = _insert_deliveries(
            dest_ids,
            organisation_id=delivery.organisation_id,
            event=event,
            once_key=delivery.once_key,
            subject=delivery.message.subject,
            text=delivery.message.text,
            link=str(link or ""),
        )
        outbox.enqueue_many(DELIVER_TASK, ([pk] for pk in ids))
    return len(ids)


def _insert_deliveries(
    dest_ids: list[int],
    *,
    organisation_id: int,
    event: str,
    once_key: str,
    subject: str,
    text: str,
    link: str,
) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO licensing_webhookdelivery
                (destination_id, organisation_id, event, once_key, subject, text, link, status,
                 attempts, last_error, created_at, next_attempt_at)
            SELECT d, %(org)s, %(event)s, %(key)s, %(subject)s, %(text)s, %(link)s, 'pending',
                   0, '', %(now)s, %(now)s
            FROM unnest(%(dests)s::bigint[]) AS d
            ON CONFLICT (destination_id, once_key) DO NOTHING
            RETURNING id
            """,
            {
                "org": organisation_id,
                "event": event[:60],
                "key": once_key[:200],
                "subject": subject[:300],
                "text": text,
                "link": link[:500],
                "now": timezone.now(),
                "dests": dest_ids,
            },
        )
        return sorted(row[0] for row in cursor.fetchall())


# --- delivery --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # "delivered", "retry", "failed", "skipped"
    status_code: int | None = None
    error: str = ""
    retry_in: float | None = None  # seconds, when status == "retry"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer (and a failure), never followed


_opener = urllib.request.build_opener(_NoRedirect)


def backoff_seconds(attempts: int) -> float:
    """Wait before attempt `attempts + 1`: base * 2^(attempts - 1), at most the cap."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    return float(min(base * 2 ** max(attempts - 1, 0), settings.WEBHOOK_RETRY_MAX_SECONDS))


def build_request(dest: WebhookDestination, row: WebhookDelivery) -> tuple[bytes, dict[str, str]]:
    """The body and headers posted for this delivery (also what the tests' receiver checks)."""
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if dest.kind == WebhookKind.TEAMS:
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": row.subject, "weight": "Bolder", "wrap": True},
                {"type": "TextBlock", "text": row.text, "wrap": True},
            ],
        }
        if row.link:
            # The card's words in the organisation's language, like the message it carries.
            with translation.override(language.organisation_language(row.organisation_id)):
                title = _("Open in the portal")
            card["actions"] = [{"type": "Action.OpenUrl", "title": title, "url": row.link}]
        payload: dict[str, Any] = {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
            ],
        }
    elif dest.kind == WebhookKind.SLACK:
        payload = {"text": f"*{_slack_escape(row.subject)}*\n{_slack_escape(row.text)}"}
    else:
        payload = {
            "event": row.event,
            "delivery": row.pk,
            "organisation": row.organisation.slug,
            "subject": row.subject,
            "text": row.text,
            "link": row.link,
            "created_at": row.created_at.isoformat(),
        }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    if dest.kind == WebhookKind.JSON:
        stamp = str(int(time.time()))
        secret = decrypt_secret(dest.secret_ciphertext).encode()
        digest = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers.update(
            {
                "X-Portal-Event": row.event,
                "X-Portal-Delivery": str(row.pk),
                "X-Portal-Timestamp": stamp,
                "X-Portal-Signature": f"sha256={digest}",
            }
        )
    return body, headers


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# A failed post's error is stored in English (`WebhookDelivery.last_error`); the deliveries table
# shows it in the reader's language (`delivery_error`).
NO_ANSWER = gettext_noop("no answer within %(seconds)s s")
CONNECTION_FAILED = gettext_noop("connection failed: %(reason)s")


def delivery_error(text: str) -> str:
    return stored_text.translate(text, (NO_ANSWER, CONNECTION_FAILED))


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST; returns (HTTP status or None, error text without the URL)."""
    # The scheme was checked when the URL was stored (https, or http when allowed).
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(65536)
            return response.status, ""
    except urllib.error.HTTPError as exc:  # an answer other than 2xx
        return exc.code, f"HTTP {exc.code}"
    except TimeoutError:
        return None, NO_ANSWER % {"seconds": f"{settings.WEBHOOK_TIMEOUT_SECONDS:g}"}
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return None, NO_ANSWER % {"seconds": f"{settings.WEBHOOK_TIMEOUT_SECONDS:g}"}
        # The reason's class and errno text, never the URL (Slack/Teams URLs carry a secret).
        return (
            None,
            CONNECTION_FAILED
            % {
                "reason": f"{type(reason).__name__}: {getattr(reason, 'strerror', '') or ''}".strip()
            },
        )
    except (OSError, ValueError) as exc:
        return None, CONNECTION_FAILED % {"reason": type(exc).__name__}


def _retryable(code: int | None) -> bool:
    return code is None or code in (408, 429) or code >= 500


def deliver(delivery_id: int) -> Outcome:
    """Post one delivery. Safe to run twice at once: the lease (one conditional UPDATE) lets one
    run post; the other skips. Delivered or failed rows are never posted again."""
    now = timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 30)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE licensing_webhookdelivery
            SET leased_until = %(until)s, attempts = attempts + 1, last_attempt_at = %(now)s
            WHERE id = %(id)s AND status = 'pending'
              AND (leased_until IS NULL OR leased_until < %(now)s)
            RETURNING id
            """,
            {"id": delivery_id, "now": now, "until": now + lease},
        )
        claimed = cursor.fetchone() is not None
    if not claimed:
        return Outcome(status="skipped")
    row = WebhookDelivery.objects.select_related("destination", "organisation").get(pk=delivery_id)
    dest = row.destination
    if not dest.enabled and row.event != _test_event():
        return _finish(row, Outcome(status="failed", error="destination switched off"))
    try:
        body, headers = build_request(dest, row)
        url = decrypt_secret(dest.url_ciphertext)
    except RuntimeError as exc:  # a secret no configured key decrypts
        return _finish(row, Outcome(status="failed", error=str(exc)))
    code, error = _post(url, body, headers)
    if code is not None and 200 <= code < 300:
        return _finish(row, Outcome(status="delivered", status_code=code))
    if _retryable(code) and row.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        wait = backoff_seconds(row.attempts)
        return _finish(row, Outcome(status="retry", status_code=code, error=error, retry_in=wait))
    return _finish(row, Outcome(status="failed", status_code=code, error=error))


def _test_event() -> str:
    from licensing.services.notify import TEST_EVENT

    return TEST_EVENT


def _finish(row: WebhookDelivery, outcome: Outcome) -> Outcome:
    now = timezone.now()
    fields: dict[str, Any] = {
        "leased_until": None,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error[:300],
    }
    if outcome.status == "delivered":
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif outcome.status == "retry":
        fields.update(next_attempt_at=now + timedelta(seconds=outcome.retry_in or 0))
    else:
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    WebhookDelivery.objects.filter(pk=row.pk).update(**fields)
    return outcome


def recent_deliveries(organisation: Any, *, destination: Any = None, limit: int = 50):
    rows = WebhookDelivery.objects.filter(organisation=organisation).select_related("destination")
    if destination is not None:
        rows = rows.filter(destination=destination)
    return rows.order_by("-created_at", "-id")[:limit]


# --- a person's e-mail choices (read by notify.send_email) ------------------------------------


def muted_events(user: Any) -> list[str]:
    from licensing.models import NotificationMute

    return list(NotificationMute.objects.filter(user=user).values_list("event", flat=True))


@transaction.atomic
def set_email_choices(*, user: Any, email_events: list[str]) -> list[str]:
    """Keep e-mail for `email_events`, mute every other event; returns the muted events."""
    from licensing.models import NotificationMute
    from licensing.services.notify import EVENTS

    wanted = set(email_events)
    muted = [e for e in EVENTS if e not in wanted]
    NotificationMute.objects.filter(user=user).exclude(event__in=muted).delete()
    NotificationMute.objects.bulk_create(
        [NotificationMute(user=user, event=e) for e in muted], ignore_conflicts=True
    )
    return muted
