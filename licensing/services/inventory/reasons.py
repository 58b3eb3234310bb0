"""Flag reasons in the reader's language.

The rules (`rules.py`) write each client's reason into the database in English, as one SQL
expression for a million rows; the API, the CSV exports and the history keep that text as it is.
Pages and e-mails show it through `translated()`, which recognises each sentence the rules write
(with its numbers) and returns it in the active language (`licensing.stored_text`, the one way
a stored English sentence is shown translated). A text it does not know (an older
wording, a reason written by hand) is shown as stored. `tests/i18n/test_inventory.py` checks that
every branch of the rules gives a sentence listed here.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

from licensing import stored_text

# The English sentences of rules.rule_sql(), numbers as named placeholders.
REASONS = [
    gettext_noop("Client reports Unlicensed"),
    gettext_noop("Client reports the Notification state (red title bar): it is not activated"),
    gettext_noop("Client reports non-genuine grace"),
    gettext_noop("Client reports out-of-tolerance grace (hardware change): activate the MAK again"),
    gettext_noop("Client reports out-of-tolerance grace: no KMS renewal within %(days)s days"),
    gettext_noop("Hardware change or reinstall reported: needs a new MAK activation"),
    gettext_noop(
        "Client reports extended grace: not activated, and when its grace ends is unknown"
    ),
    gettext_noop("Client reports initial grace: not activated, and when its grace ends is unknown"),
    gettext_noop("Never activated: the %(days)s-day grace after install has ended"),
    gettext_noop("Not activated: the grace period the client reported has ended"),
    gettext_noop(
        "Never activated: Office warns from day %(warn)s after install, the grace ends on day "
        "%(end)s"
    ),
    gettext_noop("Not activated: fewer than %(days)s days of grace left"),
    gettext_noop("Not activated yet: within its grace period"),
    gettext_noop("No KMS renewal for %(days)s days or more: the out-of-tolerance grace has ended"),
    gettext_noop(
        "No KMS renewal for %(days)s days or more: activation lapsed, Office shows notifications"
    ),
    gettext_noop(
        "Fewer than %(left)s days of KMS activation left: no renewal for %(days)s days or more"
    ),
    gettext_noop("Client reports Licensed; no activation date known yet"),
]


def translated(reason: str) -> str:
    """`reason` as stored, in the active language (unchanged when it is not a rules sentence)."""
    return stored_text.translate(reason, REASONS) if reason else reason
