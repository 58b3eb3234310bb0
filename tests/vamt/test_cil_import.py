"""VAMT CIL/CILX import: computers become clients through the one ingest, MAK keys linked by
their last five characters, a report of what was matched, created and skipped; refused files
write nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from licensing.models import (
    AuditEvent,
    Client,
    ImportRejection,
    ImportRun,
    MakActivation,
    OfflineActivation,
)
from licensing.services.errors import TooLarge
from licensing.services.inventory.runs import ImportRefused
from licensing.services.inventory.vamt import import_cil
from tests import factories
from tests.vamt.cil_samples import (
    BILLION_LAUGHS,
    CID_A,
    EXTERNAL_ENTITY,
    IID_A,
    IID_B,
    WINDOWS_APP,
    cil,
    computer,
    product,
)

pytestmark = pytest.mark.django_db
MAK_KEY = "BCDFG-HJKMP-QRTVW-XY234-7X3QH"


@pytest.fixture
def mak_key(org):
    return factories.MakKeyFactory(pool=factories.MakPoolFactory(organisation=org), key=MAK_KEY)


def full_export() -> bytes:
    return cil(
        # Known client, matched by name; licensed MAK: linked to the MAK key by ...7X3QH.
        computer(
            "PC-1", product(), product(app=WINDOWS_APP, name="Windows"), domain="contoso.test"
        ),
        # New client given as an FQDN; a KMS client pointing at a registered host.
        computer(
            "pc-2.contoso.test",
            product(
                sku="8d368fc1-9470-4be2-8d66-90e836cbb051",
                name="Office 24, Office24ProPlus2024VL_KMS_Client_AE edition",
                key_type="KMS Client",
                last5="GCVGB",
                kms_host="kms01.contoso.test",
            ),
            vamt_id="2",
        ),
        # New MAK client not activated, with an Installation ID: queued for offline activation.
        computer("PC-3", product(status="Notifications", iid=IID_A), vamt_id="3"),
        # Windows only: skipped, with the reason.
        computer("PC-4", product(app=WINDOWS_APP, name="Windows"), vamt_id="4"),
        # A computer whose product has no status: skipped.
        computer("PC-5", product(status=None), vamt_id="5"),
        keys=f'<ProductKeys><ProductKey Value="{MAK_KEY}" KeyType="MAK"/></ProductKeys>',
    )


def test_full_export_matches_creates_links_and_reports(org, admin_user, mak_key):
    factories.ClientFactory(organisation=org, hostname="pc-1", activation_method="kms")
    host = factories.KmsHostFactory(organisation=org, fqdn="kms01.contoso.test")
    run = import_cil(actor=admin_user, organisation=org, data=full_export(), filename="vamt.cilx")
    assert (run.status, run.received, run.created, run.updated, run.rejected) == (
        "done",
        3,
        2,
        1,
        2,
    )
    pc1 = Client.objects.get(hostname="pc-1")
    assert (pc1.activation_method, pc1.mak_key, pc1.license_status) == ("mak", mak_key, 1)
    assert pc1.fqdn == "pc-1.contoso.test"
    pc2 = Client.objects.get(hostname="pc-2")
    assert (pc2.fqdn, pc2.kms_host, pc2.activation_method) == ("pc-2.contoso.test", host, "kms")
    pc3 = Client.objects.get(hostname="pc-3")
    assert pc3.license_status == 5
    item = OfflineActivation.objects.get()
    assert (item.client, item.installation_id, item.mak_key, item.status) == (
        pc3,
        IID_A,
        mak_key,
        "pending",
    )
    reasons = sorted(ImportRejection.objects.filter(run=run).values_list("hostname", "reason"))
    assert reasons == [
        ("PC-4", "computer 4: no Office product"),
        ("PC-5", "computer 5: no Office product with a licence status"),
    ]
    assert "matched 1, created 2, skipped 2" in run.message
    assert "linked to MAK keys" in run.message and "1 queued for offline activation" in run.message
    assert "1 product keys in the file not read" in run.message
    # Nothing of the product key is stored anywhere in clear.
    assert not ImportRun.objects.filter(message__contains="BCDFG").exists()
    assert not ImportRejection.objects.filter(raw__contains="BCDFG").exists()
    assert not [e for e in AuditEvent.objects.all() if "HJKMP" in str(e.changes)]


def test_a_second_import_of_the_same_file_matches_everything(org, admin_user, mak_key):
    import_cil(actor=admin_user, organisation=org, data=full_export(), filename="a.cilx")
    run = import_cil(actor=admin_user, organisation=org, data=full_export(), filename="a.cilx")
    assert run.created == 0 and run.updated + run.unchanged == 3
    assert OfflineActivation.objects.count() == 1


def test_id_only_export_completes_pending_offline_activations(org, admin_user, mak_key):
    import_cil(actor=admin_user, organisation=org, data=full_export(), filename="a.cilx")
    back = cil(
        computer(None, product(iid=IID_A, cid=CID_A, status=None, last5=None)),
        computer(None, product(iid=IID_B, cid=CID_A, status=None, last5=None), vamt_id="9"),
        computer(None, product(iid=IID_B, status=None, last5=None), vamt_id="10"),
    )
    run = import_cil(actor=admin_user, organisation=org, data=back, filename="back.cilx")
    item = OfflineActivation.objects.get()
    assert item.status == "confirmed" and item.confirmation_id == CID_A.replace("-", "")
    mak_key.refresh_from_db()
    assert mak_key.activations_used == 1
    assert MakActivation.objects.get().client == item.client
    assert "1 Confirmation IDs recorded" in run.message
    assert run.rejected == 2  # one unknown Installation ID, one without a Confirmation ID
    assert AuditEvent.objects.filter(action="offline_activation.confirm").count() == 1


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"<SoftwareLicensingData><Computers><Computer>", "not well-formed XML"),
        (b"", "the file is empty"),
        (b"<html><body>hi</body></html>", "the root element is <html>"),
        (BILLION_LAUGHS, "declares a DTD or entities"),
        (EXTERNAL_ENTITY, "declares a DTD or entities"),
        (cil(), "lists no computers"),
        (cil(computer("PC-9", product(sku="nope"))), "the SKU id is not a GUID"),
        (cil(computer("PC-9", product(iid="12ab"))), "the Installation ID is not digits"),
        (cil(computer("PC-9", product(status="happy"))), "licence status 'happy'"),
    ],
)
def test_unreadable_files_are_refused_whole(org, admin_user, data, words):
    factories.ClientFactory(organisation=org, hostname="pc-0")
    good_first = cil(computer("PC-8", product()))
    with pytest.raises(ImportRefused) as exc:
        import_cil(actor=admin_user, organisation=org, data=good_first[:-30] + data, filename="x")
    if data:
        with pytest.raises(ImportRefused) as exc:
            import_cil(actor=admin_user, organisation=org, data=data, filename="x.cilx")
        assert words in str(exc.value)
    assert list(Client.objects.values_list("hostname", flat=True)) == ["pc-0"]
    assert set(ImportRun.objects.values_list("status", flat=True)) == {"refused"}


def test_a_50_mb_file_is_refused_before_parsing(org, admin_user):
    data = cil(computer("PC-1", product())) + b" " * (50 * 1024 * 1024)
    with pytest.raises(TooLarge) as exc:
        import_cil(actor=admin_user, organisation=org, data=data, filename="big.cilx")
    assert "at most" in str(exc.value)
    assert not Client.objects.exists()
    assert ImportRun.objects.get().status == "refused"


def test_all_or_nothing_when_a_confirmation_cannot_be_counted(org, admin_user, mak_key):
    import_cil(actor=admin_user, organisation=org, data=full_export(), filename="a.cilx")
    mak_key.activations_used = mak_key.activation_limit
    mak_key.status = "exhausted"
    mak_key.save()
    before = set(Client.objects.values_list("hostname", flat=True))
    data = cil(
        computer("PC-NEW", product()),
        computer(None, product(iid=IID_A, cid=CID_A, status=None, last5=None), vamt_id="7"),
    )
    with pytest.raises(ImportRefused) as exc:
        import_cil(actor=admin_user, organisation=org, data=data, filename="back.cilx")
    assert "could not be recorded" in str(exc.value) and "HJKMP" not in str(exc.value)
    assert set(Client.objects.values_list("hostname", flat=True)) == before
    assert OfflineActivation.objects.get().status == "pending"


def test_upload_page(as_admin, org, mak_key):
    upload = SimpleUploadedFile("vamt.cilx", full_export(), content_type="application/xml")
    r = as_admin.post("/imports/vamt/", {"file": upload})
    run = ImportRun.objects.get(source="vamt_cil")
    assert r.status_code == 302 and r["Location"].endswith(f"/imports/{run.pk}/")
    page = as_admin.get(r["Location"]).content.decode()
    assert "matched 0, created 3, skipped 2" in page and "no Office product" in page


def test_upload_page_refuses_a_large_file(as_admin, org, settings):
    settings.VAMT_CIL_MAX_BYTES = 1000
    upload = SimpleUploadedFile("big.cilx", b"<a/>" * 1000, content_type="application/xml")
    r = as_admin.post("/imports/vamt/", {"file": upload}, follow=True)
    assert "Nothing was imported: The file is 4,000 bytes" in r.content.decode()
    assert not Client.objects.exists()


def test_auditor_may_not_upload(as_auditor, org):
    upload = SimpleUploadedFile("vamt.cilx", full_export(), content_type="application/xml")
    assert as_auditor.post("/imports/vamt/", {"file": upload}).status_code == 403


def test_a_utf16_file_with_its_declaration_imports(org, admin_user):
    text = (
        cil(computer("PC-16", product())).decode().replace('encoding="utf-8"', 'encoding="utf-16"')
    )
    run = import_cil(
        actor=admin_user, organisation=org, data=text.encode("utf-16"), filename="u.cilx"
    )
    assert run.created == 1 and Client.objects.filter(hostname="pc-16").exists()


def test_a_last_five_shared_by_two_keys_links_to_neither(org, admin_user, mak_key):
    factories.MakKeyFactory(pool=mak_key.pool, key="CDFGH-JKMPQ-RTVWX-Y2346-7X3QH")
    run = import_cil(
        actor=admin_user,
        organisation=org,
        data=cil(
            computer("PC-1", product()),
            computer("PC-3", product(status="5", iid=IID_A), vamt_id="3"),
        ),
        filename="a.cilx",
    )
    assert run.created == 2 and "linked to MAK keys" not in run.message
    assert Client.objects.get(hostname="pc-1").mak_key is None
    assert OfflineActivation.objects.get().mak_key is None
