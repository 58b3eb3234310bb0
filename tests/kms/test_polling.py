"""Polls against a real loopback DNS server and real TCP ports: states, findings, dispatch and
the one-email-per-change rule."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from licensing.models import AuditEvent, DnsFinding, HostPoll, HostState, KmsHost
from licensing.services.kms import discovery, hosts, polling, probing
from licensing.tasks import dispatch_due_host_polls, poll_kms_host, poll_kms_hosts
from tests.kms.conftest import zone_text
from tests.kms.helpers import a, host, report, srv
from tests.outbox import queued

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(kms_org, dns_server, tcp_listener):
    """kms-ok: in DNS with its port, reachable, fresh report with count 12."""
    h = host(kms_org, "kms-ok.contoso.test", tcp_listener)
    dns_server.zone.set(zone_text([srv(h.fqdn, tcp_listener), a(h.fqdn)]))
    report(h, 12)
    return h


def test_a_published_reachable_host_with_a_good_count_is_healthy(published):
    poll = polling.poll_host(host_id=published.pk)
    published.refresh_from_db()
    assert poll.state == published.state == HostState.HEALTHY
    assert poll.reachable and poll.srv_published is True and poll.current_count == 12
    assert poll.srv_detail == [
        {"domain": "contoso.test", "published": True, "ports": [published.port], "error": ""}
    ]
    assert published.last_polled_at == poll.polled_at and published.srv_published is True


def test_a_count_under_the_threshold_is_below_threshold(published):
    report(published, 3)
    poll = polling.poll_host(host_id=published.pk)
    assert poll.state == HostState.BELOW_THRESHOLD
    assert "3 is under the activation threshold of 5" in poll.error


def test_the_uint32_minus_one_count_means_no_count(published):
    report(published, -1)
    assert polling.poll_host(host_id=published.pk).state == HostState.BELOW_THRESHOLD


def test_a_closed_port_is_unreachable(kms_org, dns_server, closed_port):
    h = host(kms_org, "kms-dead.contoso.test", closed_port)
    dns_server.zone.set(zone_text([srv(h.fqdn, closed_port), a(h.fqdn)]))
    report(h, 20)
    poll = polling.poll_host(host_id=h.pk)
    assert poll.state == HostState.UNREACHABLE and not poll.reachable
    assert "refused" in poll.error


def test_a_name_missing_from_dns_is_unreachable(kms_org, dns_server, tcp_listener):
    h = host(kms_org, "ghost.contoso.test", tcp_listener)
    dns_server.zone.set(zone_text([srv(h.fqdn, tcp_listener)]))
    poll = polling.poll_host(host_id=h.pk)
    assert poll.state == HostState.UNREACHABLE and "does not exist in DNS" in poll.error


def test_a_reachable_host_without_srv_record_is_not_published(kms_org, dns_server, tcp_listener):
    h = host(kms_org, "kms-missing.contoso.test", tcp_listener)
    dns_server.zone.set(zone_text([a(h.fqdn)]))
    report(h, 20)
    poll = polling.poll_host(host_id=h.pk)
    h.refresh_from_db()
    assert poll.state == HostState.NOT_PUBLISHED and h.srv_published is False
    assert "No _vlmcs._tcp SRV record for this host in contoso.test" in h.state_reason
    assert list(discovery.missing_hosts(kms_org)) == [h]


def test_an_srv_record_with_another_port_is_not_published(kms_org, dns_server, tcp_listener):
    h = host(kms_org, "kms-port.contoso.test", tcp_listener)
    dns_server.zone.set(zone_text([srv(h.fqdn, 1688), a(h.fqdn)]))
    report(h, 20)
    poll = polling.poll_host(host_id=h.pk)
    assert poll.state == HostState.NOT_PUBLISHED
    assert f"port 1688, not {tcp_listener}" in poll.error


def test_without_dns_domains_publishing_is_not_checked(org, tcp_listener):
    org.dns_domains = []
    org.dns_resolvers = []
    org.save()
    # No resolvers configured: the system resolves the name (an IP literal here).
    h = host(org, "127.0.0.1", tcp_listener)
    report(h, 20)
    poll = polling.poll_host(host_id=h.pk)
    assert poll.srv_published is None and poll.state == HostState.HEALTHY


def test_a_silent_dns_server_does_not_mark_the_host_missing(org, silent_dns, tcp_listener):
    org.dns_domains = ["contoso.test"]
    org.dns_resolvers = [silent_dns]
    org.save()
    h = host(org, "127.0.0.1", tcp_listener)
    report(h, 20)
    poll = polling.poll_host(host_id=h.pk)
    assert poll.srv_published is None and poll.state == HostState.HEALTHY
    assert poll.srv_detail[0]["error"]


def test_an_old_report_is_overdue(published):
    published.status_reports.update(received_at=timezone.now() - timedelta(hours=25))
    poll = polling.poll_host(host_id=published.pk)
    assert poll.state == HostState.REPORT_OVERDUE and "25 h old" in poll.error


def test_no_report_is_pending_at_first_then_overdue(kms_org, dns_server, tcp_listener):
    h = host(kms_org, "kms-new.contoso.test", tcp_listener)
    dns_server.zone.set(zone_text([srv(h.fqdn, tcp_listener), a(h.fqdn)]))
    assert polling.poll_host(host_id=h.pk).state == HostState.PENDING
    KmsHost.objects.filter(pk=h.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert polling.poll_host(host_id=h.pk).state == HostState.REPORT_OVERDUE


def test_rogue_srv_targets_become_findings_and_resolve_when_removed(
    kms_org, dns_server, tcp_listener
):
    h = host(kms_org, "kms-ok.contoso.test", tcp_listener)
    dns_server.zone.set(
        zone_text([srv(h.fqdn, tcp_listener), srv("rogue.contoso.test", 1688), a(h.fqdn)])
    )
    polling.poll_host(host_id=h.pk)
    finding = DnsFinding.objects.get(organisation=kms_org)
    assert (finding.domain, finding.target, finding.port) == (
        "contoso.test",
        "rogue.contoso.test",
        1688,
    )
    assert list(discovery.open_findings(kms_org)) == [finding]
    dns_server.zone.set(zone_text([srv(h.fqdn, tcp_listener), a(h.fqdn)]))
    assert discovery.discover_organisation(organisation_id=kms_org.pk) == 0
    finding.refresh_from_db()
    assert finding.resolved_at is not None


def test_registering_the_rogue_host_closes_its_finding(kms_org, dns_server, admin_user):
    dns_server.zone.set(zone_text([srv("rogue.contoso.test", 1688)]))
    assert discovery.discover_organisation(organisation_id=kms_org.pk) == 1
    hosts.register_host(
        actor=admin_user,
        organisation=kms_org,
        fqdn="rogue.contoso.test",
        product_group="office_2021",
    )
    assert discovery.discover_organisation(organisation_id=kms_org.pk) == 0


def test_findings_of_another_organisation_stay_invisible(kms_org, other_org, dns_server):
    dns_server.zone.set(zone_text([srv("rogue.contoso.test", 1688)]))
    discovery.discover_organisation(organisation_id=kms_org.pk)
    assert discovery.open_findings(other_org).count() == 0


def test_a_state_change_emails_the_admins_once(
    published, admin_with_email, django_capture_on_commit_callbacks, tasks_in_process
):
    report(published, 3)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            polling.poll_host(host_id=published.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["kms-admin@example.test"]
    assert "Below activation threshold" in message.subject and published.fqdn in message.subject
    assert "3 is under the activation threshold" in message.body
    # Back to healthy is a change again: one more email, then quiet.
    report(published, 30)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            polling.poll_host(host_id=published.pk)
    assert len(mail.outbox) == 2 and "Healthy" in mail.outbox[1].subject
    changes = AuditEvent.objects.filter(action="kms_host.state_change", object_id=str(published.pk))
    assert changes.count() == 2  # pending -> below threshold -> healthy


def test_a_new_hosts_first_healthy_poll_sends_nothing(
    published, admin_with_email, django_capture_on_commit_callbacks, tasks_in_process
):
    with django_capture_on_commit_callbacks(execute=True):
        polling.poll_host(host_id=published.pk)
    assert mail.outbox == []
    published.refresh_from_db()
    assert published.last_notified_state == HostState.HEALTHY


def test_claiming_leases_the_host_so_a_second_dispatch_finds_nothing(org):
    now = timezone.now()
    due = host(
        org, "due.example.test", next_poll_at=now - timedelta(minutes=1), poll_interval_minutes=10
    )
    host(org, "later.example.test", next_poll_at=now + timedelta(minutes=5))
    retired = host(
        org, "gone.example.test", next_poll_at=now - timedelta(minutes=1), retired_at=now
    )
    assert polling.claim_due_hosts(now=now) == [due.pk]
    assert polling.claim_due_hosts(now=now) == []
    due.refresh_from_db()
    assert due.next_poll_at == now + polling.POLL_LEASE
    assert timedelta(minutes=10) > polling.POLL_LEASE
    assert retired.pk not in polling.claim_due_hosts(now=now + timedelta(hours=1))


def test_a_lost_poll_comes_due_again_when_its_lease_runs_out_well_within_the_interval(org):
    """The dispatcher leased the host and its poll message was lost (worker killed, message
    dropped): the next dispatch after the lease queues it again, not a whole interval later."""
    now = timezone.now()
    h = host(
        org, "lost.example.test", next_poll_at=now - timedelta(seconds=1), poll_interval_minutes=15
    )
    assert polling.claim_due_hosts(now=now) == [h.pk]
    # ... the poll never runs ...
    assert polling.claim_due_hosts(now=now + polling.POLL_LEASE - timedelta(seconds=1)) == []
    assert polling.claim_due_hosts(now=now + polling.POLL_LEASE) == [h.pk]
    assert timedelta(minutes=h.poll_interval_minutes) > polling.POLL_LEASE


def test_the_completed_poll_sets_the_next_due_time(org, closed_port):
    h = host(org, "localhost", closed_port, poll_interval_minutes=15)
    now = timezone.now()
    assert polling.claim_due_hosts(now=now) == [h.pk]
    poll = polling.poll_host(host_id=h.pk, now=now)
    h.refresh_from_db()
    assert poll.state == HostState.UNREACHABLE
    assert h.next_poll_at == now + timedelta(minutes=15)


def test_a_host_readdressed_during_its_poll_stays_due(org, closed_port, monkeypatch):
    h = host(org, "localhost", closed_port, poll_interval_minutes=15)
    real_probe = polling.probe_hosts

    def probe_while_an_admin_edits(targets, **kwargs):
        KmsHost.objects.filter(pk=h.pk).update(fqdn="new.example.test")
        return real_probe(targets, **kwargs)

    monkeypatch.setattr(polling, "probe_hosts", probe_while_an_admin_edits)
    polling.poll_host(host_id=h.pk)
    h.refresh_from_db()
    assert h.next_poll_at <= timezone.now()


def test_a_row_locked_by_another_dispatcher_is_skipped(org, transactional_db):
    import threading

    now = timezone.now()
    first = host(org, "a.example.test", next_poll_at=now - timedelta(minutes=1))
    second = host(org, "b.example.test", next_poll_at=now - timedelta(minutes=1))
    locked, release, claimed = threading.Event(), threading.Event(), []

    def hold_lock():
        from django.db import connection as conn
        from django.db import transaction

        with transaction.atomic():
            KmsHost.objects.select_for_update().get(pk=first.pk)
            locked.set()
            release.wait(5)
        conn.close()

    t = threading.Thread(target=hold_lock)
    t.start()
    locked.wait(5)
    claimed = polling.claim_due_hosts(now=now)
    release.set()
    t.join()
    assert claimed == [second.pk]


def test_the_dispatch_task_queues_the_due_hosts_in_one_batch_with_the_claim(
    org, django_capture_on_commit_callbacks
):
    now = timezone.now()
    due = [
        host(org, f"h{i}.example.test", next_poll_at=now - timedelta(seconds=5)) for i in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert dispatch_due_host_polls() == 3
    # The batch is in the outbox, written in the claim's transaction; one publish after commit.
    assert queued("licensing.kms.poll_hosts") == [[[h.pk for h in due]]]
    assert len(callbacks) == 1


def test_the_dispatch_splits_the_due_hosts_into_batches_an_organisations_hosts_together(
    org, other_org, monkeypatch
):
    monkeypatch.setattr(polling, "POLL_BATCH", 2)
    monkeypatch.setattr(polling, "DISPATCH_BATCH", 4)  # two claims, each in its transaction
    due = timezone.now() - timedelta(seconds=5)
    mine, theirs = [], []
    for i in range(4):  # created alternately: ids interleave between the two organisations
        mine.append(host(org, f"m{i}.example.test", next_poll_at=due).pk)
        theirs.append(host(other_org, f"t{i}.example.test", next_poll_at=due).pk)
    assert polling.dispatch_due_polls() == 8
    batches = [args[0] for args in queued("licensing.kms.poll_hosts")]
    assert [len(b) for b in batches] == [2, 2, 2, 2]
    assert sorted(pk for b in batches for pk in b) == sorted(mine + theirs)  # each host once
    # A claim of 4 takes 2 hosts of each organisation; each batch holds one organisation's.
    for b in batches:
        assert set(b) <= set(mine) or set(b) <= set(theirs), batches
    assert polling.dispatch_due_polls() == 0  # all leased


def test_batches_keep_an_organisations_hosts_together_when_they_fit():
    claimed = [
        (pk, org) for org, pks in ((7, [1, 2, 3]), (5, [4, 5]), (9, [6, 7, 8, 9, 10])) for pk in pks
    ]
    # Organisation 5 (2 hosts) and 7 (3) fit one batch of 5; 9 fills the next on its own.
    assert polling.poll_batches(claimed, 5) == [[4, 5, 1, 2, 3], [6, 7, 8, 9, 10]]
    # A batch of 4: 5's two, then 7's three start a new one, 9's five are split.
    assert polling.poll_batches(claimed, 4) == [[4, 5], [1, 2, 3], [6, 7, 8, 9], [10]]
    assert polling.poll_batches([], 4) == []


def test_a_batch_polls_every_host_with_one_srv_lookup_and_one_transaction(
    kms_org, dns_server, tcp_listener, closed_port, monkeypatch
):
    live = host(kms_org, "kms-a.contoso.test", tcp_listener)
    dead = host(kms_org, "kms-b.contoso.test", closed_port)
    gone = host(kms_org, "kms-c.contoso.test", tcp_listener, retired_at=timezone.now())
    dns_server.zone.set(
        zone_text(
            [
                srv(live.fqdn, tcp_listener),
                srv(dead.fqdn, closed_port),
                srv("rogue.contoso.test", 1688),
                a(live.fqdn),
                a(dead.fqdn),
            ]
        )
    )
    report(live, 12)
    report(dead, 12)
    asked = []
    real_lookup = probing.lookup_srv

    def counted(domain, resolvers, **kwargs):
        asked.append(domain)
        return real_lookup(domain, resolvers, **kwargs)

    monkeypatch.setattr(probing, "lookup_srv", counted)
    polls = poll_kms_hosts([dead.pk, live.pk, gone.pk, 999_999])
    assert polls == {HostState.HEALTHY: 1, HostState.UNREACHABLE: 1}
    assert asked == ["contoso.test"]  # one SRV lookup for both hosts of the organisation
    live.refresh_from_db()
    dead.refresh_from_db()
    assert (live.state, dead.state) == (HostState.HEALTHY, HostState.UNREACHABLE)
    assert "refused" in dead.state_reason and live.current_count == 12
    assert not HostPoll.objects.filter(host=gone).exists()
    assert DnsFinding.objects.get(organisation=kms_org).target == "rogue.contoso.test"


def test_the_poll_task_skips_retired_hosts(org):
    h = host(org, "gone.example.test", retired_at=timezone.now())
    assert poll_kms_host(h.pk) == "skipped"
    assert HostPoll.objects.count() == 0


def test_a_dead_host_costs_its_timeout_no_more(kms_org, dns_server, black_hole, monkeypatch):
    monkeypatch.setattr(probing, "TCP_TIMEOUT_SECONDS", 0.5)
    h = host(kms_org, "kms-hole.contoso.test", black_hole)
    dns_server.zone.set(zone_text([srv(h.fqdn, black_hole), a(h.fqdn)]))
    tcp, _ = probing.probe_host(
        fqdn=h.fqdn,
        port=h.port,
        domains=["contoso.test"],
        resolvers=[dns_server.address],
        tcp_timeout=0.5,
    )
    assert not tcp.reachable
    poll = polling.poll_host(host_id=h.pk)
    assert poll.state == HostState.UNREACHABLE
    assert poll.duration_ms < 500 + 300  # the TCP timeout plus two fast DNS answers
