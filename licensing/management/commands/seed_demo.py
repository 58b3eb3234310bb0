"""Create a realistic demo installation, the same every run (seeded randomness).

    python manage.py seed_demo                    # three organisations, ~4,200 clients
    python manage.py seed_demo --clients 1000000  # scale data: 60% in the first organisation

Clients are generated inside PostgreSQL with generate_series (one INSERT ... SELECT), never
row by row from Python. Running it again replaces the demo data.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from licensing.crypto import seal_product_key
from licensing.keyformat import KEY_ALPHABET
from licensing.models import (
    MAX_LICENCE_QUANTITY,
    Agreement,
    Client,
    Edition,
    Entitlement,
    HostState,
    KmsHost,
    KmsProductGroup,
    MakKey,
    MakKeyStatus,
    MakPool,
    Membership,
    Organisation,
    Programme,
    Role,
)
from licensing.services.inventory.rules import SWEEP_RULES
from licensing.services.inventory.sweep import sweep

DEMO_PASSWORD = "demo-portal-2026"


@dataclass(frozen=True)
class DemoOrg:
    name: str
    slug: str
    domain: str
    share: float  # share of --clients
    hosts: int
    pools: tuple[tuple[str, int, int], ...]  # (edition name, activation limit, activations left)


DEMO_ORGS = [
    DemoOrg(
        "Contoso Ltd",
        "contoso",
        "contoso.example",
        0.6,
        3,
        (
            ("Office LTSC Professional Plus 2024", 500, 4),
            ("Visio LTSC Professional 2021", 120, 35),
            ("Project Professional 2019", 60, 18),
        ),
    ),
    DemoOrg(
        "Fabrikam Inc",
        "fabrikam",
        "fabrikam.example",
        0.4,
        2,
        (("Office Professional Plus 2019", 200, 120),),
    ),
    # A newly onboarded organisation with nothing in it yet: shows the empty states.
    DemoOrg("Northwind Traders", "northwind", "northwind.example", 0.0, 0, ()),
]

DEFAULT_CLIENTS = 4200
# The tables a scale seed fills with a row (or more) per client (see Command._bulk_load).
BULK_TABLES = ("licensing_client", "licensing_makactivation", "licensing_clientflagchange")
# From this many clients the seed loads those tables the bulk way (Command._bulk_load).
BULK_LOAD_MIN_CLIENTS = 100_000

# What `cscript slmgr.vbs /dlv` prints on an Office KMS host (format of shared/samples).
DEMO_SLMGR_DLV = """Name: Office 24, OfficeKMSHostVL_KMS_Host edition
Description: Office 24, VOLUME_KMS channel
Partial Product Key: {last5}
License Status: Licensed
Key Management Service is enabled on this machine
   Current count: {count}
   Listening on Port: 1688
   DNS publishing enabled
   KMS priority: Normal
Key Management Service cumulative requests received from clients
   Total requests received: {total}
   Failed requests received: {failed}
   Requests with License Status Unlicensed: 0
   Requests with License Status Licensed: {licensed}
   Requests with License Status Initial grace period: {grace}
   Requests with License Status License expired or Hardware out of tolerance: 0
   Requests with License Status Non-genuine grace period: 0
   Requests with License Status Notification: 0
"""


def fake_product_key(rng: random.Random) -> str:
    """A key-shaped random string; not a real Microsoft key. Never written to any file."""
    alphabet = KEY_ALPHABET.replace("N", "")
    return "-".join("".join(rng.choice(alphabet) for _ in range(5)) for _ in range(5))


class Command(BaseCommand):
    help = "Create demo organisations, users of each role, MAK pools, KMS hosts and clients."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--clients",
            type=int,
            default=DEFAULT_CLIENTS,
            help="Total clients (default %(default)s).",
        )
        parser.add_argument(
            "--extra-organisations",
            type=int,
            default=0,
            help="Also create N filler organisations that share the clients not given to the first one (benchmarks).",
        )
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        total = options["clients"]
        if total < 0:
            raise SystemExit("--clients must be zero or more.")
        rng = random.Random(options["seed"])
        with transaction.atomic():
            self._wipe()
            orgs = self._organisations(options["extra_organisations"])
            users = self._users(orgs)
            self._hosts(orgs, rng)
            self._pools(orgs, rng)
        client_started = time.monotonic()
        with (
            transaction.atomic(),
            self._bulk_load(BULK_TABLES, large=total >= BULK_LOAD_MIN_CLIENTS),
        ):
            self._clients(orgs, total, options["seed"])
            self._activations()
            # Flags were computed inside the INSERT; record them as history.
            flagged = self._flag_history(orgs)
        client_seconds = time.monotonic() - client_started
        sweep_started = time.monotonic()
        # A sweep that finds (next to) nothing to do and writes today's snapshot counts.
        result = sweep(changed_by="seed_demo")
        sweep_seconds = time.monotonic() - sweep_started
        self._snapshots()
        self._requests()
        self._licences(orgs)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE licensing_client")
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {total:,} clients (with activations and flag history) in {client_seconds:.1f}s, "
                f"flagged {flagged + result.flagged:,}, swept in {sweep_seconds:.1f}s "
                f"(total {time.monotonic() - started:.1f}s)."
            )
        )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, description in users:
            self.stdout.write(f"  {username:<22} {description}")

    # --- steps -----------------------------------------------------------------------

    def _wipe(self) -> None:
        slugs = [o.slug for o in DEMO_ORGS]
        with connection.cursor() as cursor:
            # Demo organisations and filler organisations only; audit rows are append-only and stay.
            cursor.execute(
                "DELETE FROM licensing_makactivation WHERE client_id IN (SELECT c.id FROM licensing_client c "
                "JOIN licensing_organisation o ON o.id = c.organisation_id WHERE o.slug = ANY(%s) OR o.slug LIKE 'filler-%%')",
                [slugs],
            )
            cursor.execute(
                "DELETE FROM licensing_client WHERE organisation_id IN "
                "(SELECT id FROM licensing_organisation WHERE slug = ANY(%s) OR slug LIKE 'filler-%%')",
                [slugs],
            )
        Organisation.objects.filter(slug__in=slugs).delete()
        Organisation.objects.filter(slug__startswith="filler-").delete()

    def _organisations(self, extra: int) -> list[Organisation]:
        orgs = [
            Organisation.objects.create(
                name=d.name, slug=d.slug, dns_domains=[d.domain] if d.hosts else []
            )
            for d in DEMO_ORGS
        ]
        Organisation.objects.bulk_create(
            Organisation(name=f"Filler organisation {i:03d}", slug=f"filler-{i:03d}")
            for i in range(1, extra + 1)
        )
        return orgs + list(Organisation.objects.filter(slug__startswith="filler-").order_by("slug"))

    def _users(self, orgs: list[Organisation]) -> list[tuple[str, str]]:
        User = get_user_model()
        created: list[tuple[str, str]] = []

        def user(username: str, **extra: Any) -> Any:
            u, _ = User.objects.update_or_create(
                username=username,
                defaults={"email": f"{username}@portal.example", "is_active": True, **extra},
            )
            u.set_password(DEMO_PASSWORD)
            u.save()
            return u

        root = user("superadmin", is_superuser=True, is_staff=True)
        created.append((root.username, "superuser: every organisation, Django admin"))
        for org, demo in zip(orgs, DEMO_ORGS, strict=False):
            for role in Role:
                u = user(f"{demo.slug}-{role.value}")
                Membership.objects.create(user=u, organisation=org, role=role)
                created.append((u.username, f"{role.label} of {org.name}"))
        consultant = user("consultant")
        Membership.objects.create(user=consultant, organisation=orgs[0], role=Role.AUDITOR)
        Membership.objects.create(user=consultant, organisation=orgs[1], role=Role.ADMIN)
        created.append(
            (consultant.username, f"Auditor of {orgs[0].name}, Administrator of {orgs[1].name}")
        )
        return created

    def _hosts(self, orgs: list[Organisation], rng: random.Random) -> None:
        now = timezone.now()
        groups = [
            KmsProductGroup.OFFICE_2024,
            KmsProductGroup.OFFICE_2021,
            KmsProductGroup.OFFICE_2019,
        ]
        states = [HostState.HEALTHY, HostState.BELOW_THRESHOLD, HostState.HEALTHY]
        for org, demo in zip(orgs, DEMO_ORGS, strict=False):
            for n in range(demo.hosts):
                sealed = seal_product_key(fake_product_key(rng))
                state = states[n % len(states)] if demo.slug == "contoso" else HostState.HEALTHY
                KmsHost.objects.create(
                    organisation=org,
                    fqdn=f"kms{n + 1:02d}.{demo.domain}",
                    product_group=groups[n % len(groups)],
                    host_key_ciphertext=sealed.ciphertext,
                    host_key_last5=sealed.last5,
                    host_key_fingerprint=sealed.fingerprint,
                    state=state,
                    state_changed_at=now - timedelta(hours=rng.randint(1, 72)),
                    current_count=3 if state == HostState.BELOW_THRESHOLD else rng.randint(12, 50),
                    # Demo host names do not resolve: polled once a day (or on "Poll now"),
                    # so the page's interval and next poll agree.
                    poll_interval_minutes=24 * 60,
                    next_poll_at=now + timedelta(hours=18),
                    # The newest seeded poll (the history's first row, see _host_history).
                    last_polled_at=now - timedelta(hours=6),
                )
        self._host_history(rng)
        # Filler organisations (benchmarks) get one host each so KMS clients have somewhere to point.
        for org in orgs[len(DEMO_ORGS) :]:
            KmsHost.objects.create(
                organisation=org,
                fqdn=f"kms01.{org.slug}.example",
                product_group=KmsProductGroup.OFFICE_2024,
                state=HostState.HEALTHY,
                current_count=25,
            )

    def _host_history(self, rng: random.Random) -> None:
        """14 days of polls (every 6 hours) and the newest `slmgr /dlv` report for each demo host,
        so host pages show a count chart and a parsed report."""
        from licensing.models import HostPoll, HostStatusReport
        from licensing.parsers import parse_status

        now = timezone.now()
        polls, reports = [], []
        for host in KmsHost.objects.filter(
            organisation__slug__in=[d.slug for d in DEMO_ORGS]
        ).select_related("organisation"):
            final = host.current_count or 0
            count = max(0, final - 8) if final >= 5 else 7
            for step in range(14 * 4, 0, -1):
                count = max(
                    0,
                    min(
                        50,
                        count
                        + rng.randint(-2, 2)
                        + (1 if count < final else -1 if count > final else 0),
                    ),
                )
                count = final if step == 1 else count  # the newest poll agrees with the host
                polls.append(
                    HostPoll(
                        host=host,
                        polled_at=now - timedelta(hours=6 * step),
                        reachable=True,
                        srv_published=True,
                        srv_detail=[
                            {"domain": d, "published": True, "ports": [host.port], "error": ""}
                            for d in host.organisation.dns_domains
                        ],
                        current_count=count,
                        latency_ms=round(rng.uniform(0.4, 3.0), 2),
                        state=HostState.HEALTHY
                        if count >= host.activation_threshold
                        else HostState.BELOW_THRESHOLD,
                    )
                )
            total = rng.randint(2_000, 9_000)
            text = DEMO_SLMGR_DLV.format(
                last5=host.host_key_last5,
                count=final,
                total=total,
                failed=total // 40,
                licensed=total - total // 40 - 30,
                grace=30,
            )
            parsed = parse_status(text).to_dict()
            reports.append(
                HostStatusReport(
                    host=host,
                    received_at=now - timedelta(minutes=30),
                    raw_text=text,
                    accepted=True,
                    parsed=parsed,
                    license_status="licensed",
                    partial_key=host.host_key_last5,
                    current_count=final,
                    listening_port=1688,
                    dns_publishing=True,
                    priority="normal",
                    total_requests=total,
                    failed_requests=total // 40,
                    requests_by_status=parsed["licenses"][0]["kms_host"]["requests_by_status"],
                    submitted_by="seed_demo",
                )
            )
        HostPoll.objects.bulk_create(polls)
        HostStatusReport.objects.bulk_create(reports)
        KmsHost.objects.filter(status_reports__isnull=False).update(
            last_report_at=now - timedelta(minutes=30),
            license_status="licensed",
            srv_published=True,
        )

    def _pools(self, orgs: list[Organisation], rng: random.Random) -> None:
        for org, demo in zip(orgs, DEMO_ORGS, strict=False):
            for edition_name, limit, _left in demo.pools:
                pool = MakPool.objects.create(
                    organisation=org,
                    edition=Edition.objects.get(name=edition_name),
                    agreement_number=f"{rng.randint(10_000_000, 99_999_999)}",
                    low_water_mark=10,
                )
                for n in range(2):
                    sealed = seal_product_key(fake_product_key(rng))
                    MakKey.objects.create(
                        pool=pool,
                        label=f"Enrollment key {n + 1}",
                        ciphertext=sealed.ciphertext,
                        last5=sealed.last5,
                        fingerprint=sealed.fingerprint,
                        activation_limit=limit // 2,
                        status=MakKeyStatus.ACTIVE,
                    )
        # A blocked key shows that blocked keys are never allocated.
        first_pool = MakPool.objects.filter(organisation=orgs[0]).order_by("id").first()
        if first_pool is not None:
            sealed = seal_product_key(fake_product_key(rng))
            MakKey.objects.create(
                pool=first_pool,
                label="Leaked on a forum (blocked)",
                ciphertext=sealed.ciphertext,
                last5=sealed.last5,
                fingerprint=sealed.fingerprint,
                activation_limit=100,
                status=MakKeyStatus.BLOCKED,
            )

    def _licences(self, orgs: list[Organisation]) -> None:
        """One Enterprise Agreement per demo organisation (its number is the first MAK pool's,
        so the request form offers it), licensing each product line's installs as the line's
        newest version: 95% of Professional Plus (a shortfall to look at), 110% of the rest."""
        newest: dict[str, Edition] = {}
        for edition in Edition.objects.filter(is_builtin=True):
            if edition.product not in newest or edition.version > newest[edition.product].version:
                newest[edition.product] = edition
        for org in orgs[: len(DEMO_ORGS)]:
            pool = MakPool.objects.filter(organisation=org).order_by("id").first()
            agreement = Agreement.objects.create(
                organisation=org,
                programme=Programme.ENTERPRISE_AGREEMENT,
                number=pool.agreement_number if pool is not None else f"EA-{org.pk:06d}",
                starts_on=dt.date(2024, 1, 1),
                ends_on=dt.date(2026, 12, 31),
                sa_ends_on=dt.date(2026, 12, 31),
                reseller="Demo Reseller Ltd",
            )
            per_line: dict[str, int] = {}
            for product, n in (
                Client.objects.filter(organisation=org, edition__isnull=False)
                .values_list("edition__product")
                .annotate(n=Count("id"))
                .order_by()
            ):
                per_line[product] = per_line.get(product, 0) + n
            Entitlement.objects.bulk_create(
                Entitlement(
                    organisation=org,
                    agreement=agreement,
                    edition=newest[product],
                    # Capped at the model's limit: a 10M-client demo would exceed it.
                    quantity=min(
                        MAX_LICENCE_QUANTITY,
                        max(1, n * (95 if product == "proplus" else 110) // 100),
                    ),
                    acquired_on=agreement.starts_on,
                )
                for product, n in per_line.items()
                if product in newest
            )

    def _clients(self, orgs: list[Organisation], total: int, seed: int) -> None:
        """One INSERT ... SELECT over generate_series. 60% of the clients go to the first
        organisation (the giant-tenant case), the rest round-robin over the others that take clients."""
        if total == 0:
            return
        takers = [o.pk for o, d in zip(orgs, DEMO_ORGS, strict=False) if d.share > 0] + [
            o.pk for o in orgs[len(DEMO_ORGS) :]
        ]
        first, others = takers[0], takers[1:] or takers[:1]
        # The compliance rules are applied inside the INSERT (the same SQL the sweep runs), so
        # every client is born with its flag, reason, deadline and recheck time.
        rules = SWEEP_RULES
        sql = f"""
        SELECT setseed(%(seed)s);
        INSERT INTO licensing_client (
            organisation_id, hostname, fqdn, cmid, edition_id, activation_method, kms_host_id, mak_key_id,
            license_status, grace_minutes, installed_at, last_activation_at, last_renewal_at,
            renewal_deadline, reactivation_required, compliance_flag, flag_reason, flag_changed_at,
            flag_recheck_at, last_seen_at, created_at, updated_at)
        SELECT c.organisation_id, c.hostname, c.fqdn, c.cmid, c.edition_id, c.activation_method,
               c.kms_host_id, c.mak_key_id, c.license_status, c.grace_minutes, c.installed_at,
               c.last_activation_at, c.last_renewal_at, {rules.deadline}, c.reactivation_required,
               {rules.flag}, {rules.reason}, CASE WHEN {rules.flag} <> 'ok' THEN %(now)s END,
               {rules.recheck}, c.last_seen_at, %(now)s, %(now)s
        FROM (
        SELECT s.org_id AS organisation_id, s.hostname,
               s.hostname || '.' || coalesce(o.dns_domains[1], o.slug || '.example') AS fqdn,
               md5(s.org_id || '/' || s.i)::uuid AS cmid,
               CASE WHEN s.method = 'mak' THEN mk.edition_id ELSE s.edition_id END AS edition_id,
               CASE WHEN s.method = 'mak' AND mk.key_id IS NULL THEN 'kms' ELSE s.method END AS activation_method,
               CASE WHEN s.method = 'kms' OR mk.key_id IS NULL THEN kh.id END AS kms_host_id,
               CASE WHEN s.method = 'mak' THEN mk.key_id END AS mak_key_id,
               s.status::smallint AS license_status, NULL::int AS grace_minutes,
               s.installed AS installed_at, s.activated AS last_activation_at, s.renewed AS last_renewal_at,
               s.method = 'mak' AND s.r_hw < 0.03 AND mk.key_id IS NOT NULL AS reactivation_required,
               s.renewed AS last_seen_at
        FROM (
            SELECT i,
                   CASE WHEN i %% 5 < 3 THEN %(first)s ELSE (%(others)s::bigint[])[1 + (i / 5) %% %(n_others)s] END AS org_id,
                   'pc-' || substr(md5(i::text), 1, 8) || '-' || i AS hostname,
                   (%(editions)s::bigint[])[1 + floor(random() ^ 2 * %(n_editions)s)::int] AS edition_id,
                   CASE WHEN random() < 0.8 THEN 'kms' ELSE 'mak' END AS method,
                   bucket, random() AS r_hw, random() AS r_host,
                   -- licence state as reported: mostly licensed, a few of every other state
                   CASE WHEN bucket = 'never' THEN 2
                        ELSE (ARRAY[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,5,3,0,4,6])[1 + floor(random() * 43)::int]
                   END AS status,
                   %(now)s - (CASE bucket
                        WHEN 'never' THEN random() * interval '40 days'
                        ELSE interval '200 days' + random() * interval '900 days' END) AS installed,
                   CASE WHEN bucket = 'never' THEN NULL ELSE %(now)s - renew_age - random() * interval '20 days' END AS activated,
                   CASE WHEN bucket = 'never' THEN NULL ELSE %(now)s - renew_age END AS renewed
            FROM (
                SELECT i, b AS bucket,
                       CASE b WHEN 'fresh' THEN random() * interval '7 days'
                              WHEN 'stale' THEN interval '7 days' + random() * interval '140 days'
                              WHEN 'risk' THEN interval '150 days' + random() * interval '30 days'
                              WHEN 'expired' THEN interval '180 days' + random() * interval '30 days'
                              ELSE interval '210 days' + random() * interval '200 days' END AS renew_age
                FROM (
                    SELECT i, CASE WHEN r < 0.80 THEN 'fresh' WHEN r < 0.89 THEN 'stale' WHEN r < 0.93 THEN 'risk'
                                   WHEN r < 0.96 THEN 'expired' WHEN r < 0.98 THEN 'lapsed' ELSE 'never' END AS b
                    FROM (SELECT i, random() AS r FROM generate_series(1, %(total)s) i) g
                ) g2
            ) g3
        ) s
        JOIN licensing_organisation o ON o.id = s.org_id
        -- Pick a host / active key of the client's organisation by position in a per-org
        -- array: one hash join instead of a subquery per row.
        LEFT JOIN (
            SELECT organisation_id, array_agg(id ORDER BY id) AS ids
            FROM licensing_kmshost GROUP BY organisation_id
        ) hosts ON hosts.organisation_id = s.org_id
        LEFT JOIN (
            SELECT p.organisation_id, array_agg(k.id ORDER BY k.id) AS ids, array_agg(p.edition_id ORDER BY k.id) AS editions
            FROM licensing_makkey k JOIN licensing_makpool p ON p.id = k.pool_id
            WHERE k.status = 'active' GROUP BY p.organisation_id
        ) keys ON keys.organisation_id = s.org_id
        CROSS JOIN LATERAL (
            SELECT hosts.ids[1 + floor(s.r_host * cardinality(hosts.ids))::int] AS id
        ) kh
        CROSS JOIN LATERAL (
            SELECT keys.ids[1 + floor(s.r_host * cardinality(keys.ids))::int] AS key_id,
                   keys.editions[1 + floor(s.r_host * cardinality(keys.ids))::int] AS edition_id
        ) mk
        ) c
        JOIN licensing_organisation o ON o.id = c.organisation_id
        """
        editions = list(
            Edition.objects.filter(
                is_builtin=True,
                product__in=[
                    "proplus",
                    "standard",
                    "project_pro",
                    "visio_pro",
                    "visio_std",
                    "project_std",
                ],
            )
            .order_by("-version", "product")
            .values_list("id", flat=True)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                {
                    "seed": (seed % 1000) / 1000.0,
                    "total": total,
                    "first": first,
                    "others": others,
                    "n_others": len(others),
                    "editions": editions,
                    "n_editions": len(editions),
                    "now": timezone.now(),
                },
            )

    @contextmanager
    def _bulk_load(self, tables: tuple[str, ...], *, large: bool) -> Iterator[None]:
        """For scale seeding, PostgreSQL's own advice for populating a database: the tables'
        indexes (all but the primary keys), unique constraints and foreign keys go before the
        rows and come back after them, set-based: one sort per index, one join per foreign key
        check, instead of a million index insertions and trigger queries. Runs inside the
        caller's transaction, so a failure leaves every index and constraint in place, and the
        constraints added back check every row."""
        if not large:
            yield
            return
        with connection.cursor() as cursor:
            # Each index is built with one in-memory sort (the default 64 MB spills to disk).
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            # Deferred checks still pending (ALTER TABLE refuses a table that has some) run now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute(
                """
                SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
                FROM pg_constraint
                WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('u', 'f')
                ORDER BY contype DESC, conrelid, conname
                """,
                [list(tables)],
            )
            constraints = cursor.fetchall()  # unique ones first: a foreign key may need one
            cursor.execute(
                """
                SELECT i.relname, pg_get_indexdef(i.oid)
                FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                WHERE x.indrelid = ANY(%s::regclass[])
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
                """,
                [list(tables)],
            )
            indexes = cursor.fetchall()
            for table, name, _definition in reversed(constraints):
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        yield
        with connection.cursor() as cursor:
            # Deferred checks of other tables fire now: ALTER TABLE refuses pending triggers.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for _name, definition in indexes:
                cursor.execute(definition)
            for table, name, definition in constraints:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def _flag_history(self, orgs: list[Organisation]) -> int:
        """A history row for every client born with a flag other than OK."""
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO licensing_clientflagchange
                    (client_id, organisation_id, from_flag, to_flag, reason, changed_at, changed_by)
                SELECT id, organisation_id, '', compliance_flag, flag_reason, flag_changed_at, 'seed_demo'
                FROM licensing_client
                WHERE organisation_id = ANY(%s) AND compliance_flag <> 'ok'
                """,
                [[o.pk for o in orgs]],
            )
            return cursor.rowcount

    def _requests(self) -> None:
        """The approvals queue at work, through the services that audit it: a request the
        manager rejected (with the reason the admin reads) and one waiting for a decision; and
        the admin once revealed the key (the audit log names who saw which key)."""
        from licensing.models import Membership
        from licensing.services.mak.requests import reject_request, request_activations
        from licensing.services.mak.vault import reveal_key

        pool = MakPool.objects.filter(organisation__slug="contoso").order_by("id").first()
        people = {
            m.role: m.user
            for m in Membership.objects.filter(
                organisation__slug="contoso", role__in=[Role.ADMIN, Role.MANAGER]
            ).select_related("user")
        }
        key = pool.keys.filter(status=MakKeyStatus.ACTIVE).order_by("id").first() if pool else None
        admin, manager = people.get(Role.ADMIN), people.get(Role.MANAGER)
        if pool is None or key is None or admin is None or manager is None:
            return
        too_many = request_activations(
            actor=admin,
            pool=pool,
            key=key,
            quantity=400,
            justification="New branch office in Bergen: 400 desktops by December.",
        )
        reject_request(
            actor=manager,
            request=too_many,
            note="Bergen opens with 120 desktops; ask for what January needs, with 30 spare.",
        )
        request_activations(
            actor=admin,
            pool=pool,
            key=key,
            quantity=150,
            justification="Finance department moves 120 desktops to Office LTSC 2024 in January; "
            "30 spare for hardware replacements.",
        )
        reveal_key(actor=admin, key=key, password_confirmed_at=time.time())

    def _snapshots(self) -> None:
        """90 days of daily flag counts for the dashboard trend: today's real counts (written by
        the sweep), and earlier days derived from them with a gentle seeded drift (a demo has no
        history)."""
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT setseed(0.17);
                INSERT INTO licensing_compliancesnapshot (organisation_id, day, flag, count)
                SELECT t.organisation_id, current_date - d, t.compliance_flag,
                       CASE WHEN d = 0 THEN t.n  -- today: the real counts
                            ELSE GREATEST(0, round(t.n * (CASE WHEN t.compliance_flag = 'ok' THEN 1.0
                                                     ELSE 0.55 + 0.45 * (90 - d) / 90.0 END)
                                         * (0.97 + random() * 0.06)))::int END
                FROM (SELECT organisation_id, compliance_flag, count(*) AS n FROM licensing_client
                      GROUP BY 1, 2) t
                CROSS JOIN generate_series(1, 89) d
                ON CONFLICT (organisation_id, day, flag) DO UPDATE SET count = EXCLUDED.count
                """
            )

    def _activations(self) -> None:
        """A ledger row for every MAK client, then key counters that agree with the ledger.
        Limits are raised where the generated fleet needs more than the demo pool holds, and the
        demo's "activations left" figures are applied on top so some pools sit near empty."""
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO licensing_makactivation
                    (key_id, pool_id, client_id, reason, activated_at, note)
                SELECT c.mak_key_id, k.pool_id, c.id, 'first',
                       coalesce(c.last_activation_at, c.installed_at, c.created_at), 'demo'
                FROM licensing_client c JOIN licensing_makkey k ON k.id = c.mak_key_id
                """
            )
            cursor.execute(
                """
                UPDATE licensing_makkey k SET activations_used = u.n,
                       activation_limit = GREATEST(k.activation_limit, u.n + 1)
                FROM (SELECT key_id, count(*) AS n FROM licensing_makactivation GROUP BY key_id) u
                WHERE u.key_id = k.id
                """
            )
        for demo in DEMO_ORGS:
            for edition_name, _limit, left in demo.pools:
                keys = MakKey.objects.filter(
                    pool__organisation__slug=demo.slug,
                    pool__edition__name=edition_name,
                    status=MakKeyStatus.ACTIVE,
                )
                per_key = max(left // max(keys.count(), 1), 0)
                for key in keys:
                    key.activation_limit = (
                        key.activations_used + per_key or key.activations_used or 1
                    )
                    key.status = (
                        MakKeyStatus.EXHAUSTED
                        if key.activations_used >= key.activation_limit
                        else MakKeyStatus.ACTIVE
                    )
                    key.save(update_fields=["activation_limit", "status"])
