"""Group mappings of the demo organisations, for `make run`'s local OpenID Connect provider
(its predefined users carry these groups). Idempotent."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from licensing.models import GroupMapping, Organisation

MAPPINGS = [
    ("contoso", "Contoso-Licensing-Admins", "admin"),
    ("contoso", "Contoso-Readers", "auditor"),
    ("fabrikam", "Fabrikam-Approvers", "manager"),
]

# The users `make run` gives the provider (`--user-claims`), one JSON object each.
DEMO_SSO_USERS = [
    {
        "sub": "sso-admin",
        "preferred_username": "sso-admin",
        "email": "sso-admin@contoso.example",
        "name": "Sam Single-Sign-On",
        "groups": ["Contoso-Licensing-Admins", "Fabrikam-Approvers"],
        "amr": ["pwd", "mfa"],
    },
    {
        "sub": "sso-reader",
        "preferred_username": "sso-reader",
        "email": "sso-reader@contoso.example",
        "name": "Robin Reader",
        "groups": ["Contoso-Readers"],
        "amr": ["pwd"],
    },
]


class Command(BaseCommand):
    help = "Map the demo identity provider's groups to the demo organisations."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--print-users",
            action="store_true",
            help="Print the provider's demo users as JSON lines and change nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["print_users"]:
            for user in DEMO_SSO_USERS:
                self.stdout.write(json.dumps(user))
            return
        for slug, group, role in MAPPINGS:
            org = Organisation.objects.filter(slug=slug).first()
            if org is None:
                continue
            GroupMapping.objects.update_or_create(
                organisation=org, source="oidc", group=group, defaults={"role": role}
            )
        self.stdout.write("Single sign-on demo users (button on the login page, no password):")
        for user in DEMO_SSO_USERS:
            self.stdout.write(f"  {user['sub']:<22} groups {', '.join(user['groups'])}")
