"""Which language a person reads the portal and its messages in.

Pages: the person's choice (kept in their profile and copied into the session at sign-in), else
the browser's Accept-Language, else English. The API and CSV exports are machine-readable and
always English. E-mails: each recipient's own choice, else their organisation's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import translation

from licensing.services import audit

# The session key Django's own language machinery reads, so one value serves both.
SESSION_KEY = "_language"
ENGLISH = settings.LANGUAGE_CODE
# Paths whose output is read by programs, not people: never translated.
MACHINE_PATHS = ("/api/", "/metrics")
MACHINE_SUFFIXES = (".csv",)


def supported(code: str | None) -> str | None:
    """`code` if the portal speaks it (`nb-NO` counts as `nb`), else None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def is_machine_path(path: str) -> bool:
    return path.startswith(MACHINE_PATHS) or path.endswith(MACHINE_SUFFIXES)


def for_request(request: Any) -> str:
    if is_machine_path(request.path_info):
        return ENGLISH
    return _chosen_in_session(request) or translation.get_language_from_request(request)


def _chosen_in_session(request: Any) -> str | None:
    session = getattr(request, "session", None)
    if session is None:
        return None
    try:
        return supported(session.get(SESSION_KEY))
    except DatabaseError:
        # The sessions live in PostgreSQL: when it is down the browser's language serves, and
        # DatabaseUnavailableMiddleware answers 503 at the next query (never a 500 from here).
        return None


def chosen_by(user: Any) -> str:
    """The user's own choice, "" when they follow the browser."""
    from licensing.models import Profile

    return Profile.objects.filter(user=user).values_list("language", flat=True).first() or ""


def remember_at_sign_in(request: Any, user: Any) -> None:
    """Copy the profile's choice into the session, so pages need no query to know it."""
    chosen = chosen_by(user)
    if chosen:
        request.session[SESSION_KEY] = chosen
    else:
        request.session.pop(SESSION_KEY, None)


def choose(request: Any, language: str) -> None:
    """Keep `language` ("" = follow the browser) in the user's profile and this session."""
    from licensing.models import Profile

    if language and supported(language) != language:
        raise ValueError(f"unsupported language {language!r}")
    with transaction.atomic():
        profile, _ = Profile.objects.select_for_update().get_or_create(user=request.user)
        before = profile.language
        profile.language = language
        profile.save(update_fields=["language"])
        if before != language:
            audit.record(
                action="account.language_changed",
                actor=request.user,
                obj=profile,
                changes={"language": [before, language]},
                ip_address=audit.client_ip(request),
            )
    if language:
        request.session[SESSION_KEY] = language
    else:
        request.session.pop(SESSION_KEY, None)
    translation.activate(language or translation.get_language_from_request(request))


def of_recipients(emails: Sequence[str], default: str) -> dict[str, list[str]]:
    """Recipients grouped by the language their e-mail is written in: their own choice, else
    `default` (their organisation's language, which notify has read already), that one first."""
    from licensing.models import Profile

    if not emails:
        return {}
    chosen = dict(
        Profile.objects.filter(user__email__in=list(emails))
        .exclude(language="")
        .values_list("user__email", "language")
    )
    groups: dict[str, list[str]] = {}
    for email in emails:
        groups.setdefault(chosen.get(email) or default, []).append(email)
    return dict(sorted(groups.items(), key=lambda item: item[0] != default))


def organisation_language(organisation_id: int | None) -> str:
    from licensing.models import Organisation

    if organisation_id is None:
        return ENGLISH
    return (
        Organisation.objects.filter(pk=organisation_id).values_list("language", flat=True).first()
        or ENGLISH
    )
