"""CIL/CILX files built from VAMT's documented tags (samples/vamt2-cil-schema-excerpt.md):
SoftwareLicensingData > Computers > Computer (Name, Id, NetworkType, NetworkName) > Products >
Product > Sku (Id, Name, ApplicationId), with the product's values as child elements."""

from __future__ import annotations

OFFICE_APP = "0ff1ce15-a989-479d-af46-f275c6370663"
WINDOWS_APP = "55c92734-d682-4d71-983e-d6ec3f16059f"
IID_A = "014436285634731822914450637126523406851234110562773981"
IID_B = "020650770493837252929082195773527024195725809211989214"
CID_A = "111111-222222-333333-444444-555555-666666-777777-888888"


def product(
    *,
    sku="b322da9c-a2e2-4058-9e4e-f59a6970bd69",
    name="Office 15, OfficeProPlusVL_MAK edition",
    app=OFFICE_APP,
    status="1",
    last5="7X3QH",
    key_type="MAK",
    kms_host=None,
    iid=None,
    cid=None,
) -> str:
    parts = [f'<Sku Id="{sku}" Name="{name}" ApplicationId="{app}"/>']
    if status is not None:
        parts.append(f"<LicenseStatus>{status}</LicenseStatus>")
    if last5:
        parts.append(f"<PartialProductKey>{last5}</PartialProductKey>")
    if key_type:
        parts.append(f"<ProductKeyType>{key_type}</ProductKeyType>")
    if kms_host:
        parts.append(f"<KmsHost>{kms_host}</KmsHost>")
    if iid:
        parts.append(f"<InstallationId>{iid}</InstallationId>")
    if cid:
        parts.append(f"<ConfirmationId>{cid}</ConfirmationId>")
    return "<Product>" + "".join(parts) + "</Product>"


def computer(name=None, *products, domain=None, vamt_id="1") -> str:
    attrs = f' Id="{vamt_id}"'
    if name:
        attrs += f' Name="{name}" OSVersion="6.1.7601" OSEdition="Enterprise"'
        if domain:
            attrs += f' NetworkType="Domain" NetworkName="{domain}"'
        else:
            attrs += ' NetworkType="Workgroup" NetworkName="WORKGROUP"'
    else:
        attrs += ' NetworkType="None"'
    macs = "<MacAddresses><MacAddress>00-15-5D-01-02-03</MacAddress></MacAddresses>" if name else ""
    return f"<Computer{attrs}>{macs}<Products>{''.join(products)}</Products></Computer>"


def cil(*computers, keys="") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<SoftwareLicensingData Version="2.0"><Computers>'
        + "".join(computers)
        + "</Computers>"
        + keys
        + "</SoftwareLicensingData>"
    ).encode()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<SoftwareLicensingData Version="2.0"><Computers><Computer Name="&lol3;"/></Computers></SoftwareLicensingData>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<SoftwareLicensingData Version="2.0"><Computers><Computer Name="&xxe;"/></Computers></SoftwareLicensingData>"""
