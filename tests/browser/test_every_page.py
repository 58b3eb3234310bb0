"""Every page as each demo persona, in Chromium at phone (390 px) and desktop (1440 px) width:
its elements' start and end tags balanced as served, no console errors, no horizontal scroll of the page (nor, at desktop width, a table that hides
its last column), and 0 axe violations of any impact (axe-core
bundled by the axe-playwright-python package; nothing is downloaded).

Fast by design: the demo data is seeded once, each persona gets one browser context and one
page that loads every address once, checks it at desktop width and again resized to a phone's;
every problem is collected and reported at once, so one run shows them all. axe (about half a
second a page on a 2-core machine) runs at both widths for the administrator, who sees every
control, and at desktop width for the others. Colour contrast, about a third of axe's time,
depends on the stylesheet and the classes a page uses: it is checked on every page the
administrator opens, and for the others on the pages the administrator cannot open (the
manager's approvals, the superuser's overview). A refusal (403, 404) is one template whatever
the address: axe checks it once per status."""

from __future__ import annotations

import io
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from django.core.management import call_command

from licensing.management.commands.seed_demo import DEMO_PASSWORD
from licensing.models import (
    ActivationRequest,
    Agreement,
    AuditEvent,
    Client,
    ComplianceFlag,
    HostState,
    ImportRun,
    KmsHost,
    MakPool,
    Organisation,
)
from licensing.services import audit
from tests.markup import unbalanced_tags

WIDTHS = (1440, 390)
FULL_AXE = "contoso-admin"
PERSONAS = ("contoso-admin", "contoso-manager", "contoso-auditor", "consultant", "superadmin")
# Chromium logs a console error for a page answered with an error status; an error page that
# is meant (403 for a role, 404) is not a console error of the page itself.
_STATUS_NOISE = re.compile(r"Failed to load resource: the server responded with a status of 40[34]")

axe = Axe()
EVERY_RULE = {"resultTypes": ["violations"]}
WITHOUT_CONTRAST = {**EVERY_RULE, "rules": {"color-contrast": {"enabled": False}}}
_CLIPPED_TABLES = """() => [...document.querySelectorAll('.table-responsive')]
    .filter((e) => e.scrollWidth > e.clientWidth + 1)
    .map((e) => `${e.scrollWidth} in ${e.clientWidth}`)"""


def _addresses() -> list[str]:
    contoso = Organisation.objects.get(slug="contoso")
    flagged = (
        Client.objects.filter(organisation=contoso, compliance_flag=ComplianceFlag.EXPIRED)
        .order_by("id")
        .first()
    )
    mak = Client.objects.filter(organisation=contoso, activation_method="mak").order_by("id")[0]
    hosts = KmsHost.objects.filter(organisation=contoso)
    below = hosts.filter(state=HostState.BELOW_THRESHOLD).order_by("id").first() or hosts[0]
    pool = MakPool.objects.filter(organisation=contoso).order_by("id")[0]
    addresses = [
        "/",
        "/clients/",
        "/clients/?last_renewal_after=notadate",
        "/clients/?compliance_flag=reactivation_needed",
        "/clients/?stale=true",
        f"/clients/{flagged.pk}/",
        f"/clients/{mak.pk}/",
        "/kms/hosts/",
        "/kms/hosts/new/",
        f"/kms/hosts/{below.pk}/",
        f"/kms/hosts/{below.pk}/edit/",
        "/kms/dns/",
        "/pools/",
        "/pools/?urgency=red",
        f"/pools/{pool.pk}/",
        f"/pools/{pool.pk}/activations/",
        f"/pools/{pool.pk}/request/",
        "/requests/",
        "/approvals/",
        "/imports/",
        "/audit/",
        "/reports/",
        "/tokens/",
        "/organisation/settings/",
        "/global/",
        "/search/?q=pc",
        "/no-such-page/",
    ]
    run = ImportRun.objects.filter(organisation=contoso).order_by("id").first()
    if run is not None:
        addresses.append(f"/imports/{run.pk}/")
    # The pages of licences, offline activation, sign-in, notifications and the audit entry.
    agreement = Agreement.objects.filter(organisation=contoso).order_by("id").first()
    audit.record(
        action="organisation.update",
        actor="seed",
        organisation=contoso,
        obj=contoso,
        changes={"at_risk_days": [30, 21]},
    )
    entry = AuditEvent.objects.filter(organisation=contoso).order_by("id").first()
    addresses += [
        "/licences/",
        "/licences/agreements/",
        "/licences/editions/",
        "/offline/",
        "/organisation/webhooks/",
        "/organisation/sign-in/",
        "/account/",
        "/account/notifications/",
    ]
    addresses += [f"/licences/agreements/{agreement.pk}/", f"/audit/{entry.pk}/"]
    assert ActivationRequest.objects.exists()
    return addresses


@pytest.mark.timeout(900)
def test_every_page_as_every_persona_at_two_widths(live_server, browser, login, transactional_db):
    call_command("seed_demo", clients=400, stdout=io.StringIO())
    addresses = _addresses()
    problems: list[str] = []
    visited = 0
    console: list[str] = []  # the current page's console errors (one list for every context)
    opened_by_admin: set[str] = set()  # the addresses the administrator's pass answered 200
    refusals_checked: set[int] = set()  # the refusal statuses axe has checked
    for persona in PERSONAS:
        context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
        page = context.new_page()
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
        login(page, get_user_model().objects.get(username=persona), DEMO_PASSWORD)
        for address in addresses:
            # One load per address: checked at desktop width, then resized to a phone's (the
            # stylesheet's breakpoints apply on resize; the filters a phone folds at load stay
            # open, which only makes the phone's width check stricter).
            page.set_viewport_size({"width": WIDTHS[0], "height": 900})
            console.clear()
            response = page.goto(f"{live_server.url}{address}")
            status = response.status if response else 0
            if status >= 500 or status == 0:
                problems.append(f"{persona} {address} ({status}): status {status}")
                visited += len(WIDTHS)
                continue
            errors = [e for e in console if not (status in (403, 404) and _STATUS_NOISE.search(e))]
            if errors:
                problems.append(f"{persona} {address} ({status}): console errors {errors}")
            if unbalanced := unbalanced_tags(response.text()):
                problems.append(f"{persona} {address} ({status}): {', '.join(unbalanced)}")
            if persona == FULL_AXE and status == 200:
                opened_by_admin.add(address)
            for width in WIDTHS:
                if width != WIDTHS[0]:
                    page.set_viewport_size({"width": width, "height": 900})
                where = f"{persona} {address} @{width}px ({status})"
                visited += 1
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > width:
                    problems.append(f"{where}: page is {scroll} px wide")
                if width == WIDTHS[0]:
                    # At desktop width no table hides its last column behind a scrollbar.
                    clipped = page.evaluate(_CLIPPED_TABLES)
                    if clipped:
                        problems.append(f"{where}: tables clipped {clipped}")
                if width != WIDTHS[0] and persona != FULL_AXE:
                    continue
                if status >= 400:
                    if status in refusals_checked:
                        continue
                    refusals_checked.add(status)
                # Contrast was checked on the administrator's pass of this page.
                seen = persona != FULL_AXE and address in opened_by_admin
                violations = axe.run(page, options=WITHOUT_CONTRAST if seen else EVERY_RULE)
                violations = violations.response["violations"]
                for v in violations:
                    targets = [n["target"] for n in v["nodes"][:3]]
                    problems.append(f"{where}: axe {v['id']} ({v['impact']}) on {targets}")
        context.close()
    assert visited == len(PERSONAS) * len(addresses) * len(WIDTHS)
    assert PERSONAS[0] == FULL_AXE and "/approvals/" not in opened_by_admin
    assert not problems, "\n".join(problems)
