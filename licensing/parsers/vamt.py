"""VAMT Computer Information List files (CIL / CILX, XML) read into plain data.

    from licensing.parsers.vamt import parse_cil, CilError

    doc = parse_cil(data)              # bytes of the file
    for computer in doc.computers:     # CilComputer(name, fqdn, vamt_id, products)
        for p in computer.products:    # CilProduct(sku_id, sku_name, application_id,
            ...                        #   license_status, last5, kms_host, installation_id,
                                       #   confirmation_id, key_type)
    doc.product_keys                   # how many product keys the file carried (never read)

The tags are VAMT's (DOMAIN.md section 9.2, samples/vamt2-cil-schema-excerpt.md):
`SoftwareLicensingData` > `Computers` > `Computer` (Name, Id, NetworkType, NetworkName) >
`Products` > `Product` > `Sku` (Id, Name, ApplicationId). Only the start of VAMT's tag table is
published, so the product's other values are read by name, as an attribute or a child element,
case-insensitively, namespace ignored: LicenseStatus, PartialProductKey, KmsHost /
KeyManagementServiceMachine, InstallationId / OfflineInstallationId, ConfirmationId,
ProductKeyType. An "Installation ID and Product ID only" export has no computer names (None).

The XML is parsed by defusedxml: a DTD, entity declarations or external references are refused
(billion laughs, external entities), as is broken XML; CilError.reason says why, never quoting
the file. Full product keys a file may carry (`ProductKeys`) are counted and never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from licensing.parsers.model import STATUS_CODES
from licensing.parsers.text import decode_upload

_GUID = re.compile(
    r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$"
)
_LAST5 = re.compile(r"^[A-Za-z0-9]{5}$")
# VAMT's status words (its tree nodes) and ours, compared without spaces, '_' and '-'.
_STATUS = {
    **{w.replace("_", ""): c for w, c in STATUS_CODES.items()},
    "notlicensed": 0,
    "oob": 2,
    "initialgrace": 2,
    "outofboxgrace": 2,
    "outofbox(oob)grace": 2,
    "oot": 3,
    "outoftolerancegrace": 3,
    "outoftolerance(oot)grace": 3,
    "nongenuine": 4,
    "notifications": 5,
}


class CilError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CilProduct:
    sku_id: str | None = None
    sku_name: str | None = None
    application_id: str | None = None
    license_status: int | None = None
    last5: str | None = None
    kms_host: str | None = None
    installation_id: str | None = None
    confirmation_id: str | None = None
    key_type: str | None = None


@dataclass(frozen=True)
class CilComputer:
    name: str | None
    fqdn: str | None
    vamt_id: str | None
    products: tuple[CilProduct, ...] = ()


@dataclass(frozen=True)
class CilDocument:
    version: str | None
    computers: tuple[CilComputer, ...] = ()
    product_keys: int = 0
    products: int = field(default=0)


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def _fields(el: Element) -> dict[str, str]:
    """An element's values by lower-case name: its attributes, then its direct children's text
    (or their `Value` attribute, `<LicenseStatus Value="1"/>`); the first non-blank wins."""
    found: dict[str, str] = {}
    for key, val in el.attrib.items():
        val = val.strip()
        if val:
            found.setdefault(_local(key), val)
    for child in el:
        text = (child.text or "").strip() or (child.attrib.get("Value") or "").strip()
        if text:
            found.setdefault(_local(child.tag), text)
    return found


def _value(fields: dict[str, str], *names: str) -> str | None:
    for name in names:
        value = fields.get(name.lower())
        if value:
            return value
    return None


def _child(el: Element, name: str) -> Element | None:
    for child in el:
        if _local(child.tag) == name:
            return child
    return None


def _children(el: Element | None, name: str) -> list[Element]:
    return [] if el is None else [c for c in el if _local(c.tag) == name]


def _digits(value: str | None, what: str, where: str) -> str | None:
    if value is None:
        return None
    digits = re.sub(r"[\s-]", "", value)
    if not digits.isdigit():
        raise CilError(f"{where}: the {what} is not digits")
    return digits


def _status(value: str | None, where: str) -> int | None:
    if value is None:
        return None
    word = re.sub(r"[\s_-]", "", value).lower()
    if word.isdigit() and 0 <= int(word) <= 6:
        return int(word)
    if word in _STATUS:
        return _STATUS[word]
    raise CilError(f"{where}: licence status '{value[:30]}' is not 0..6 or a VAMT status")


def parse_cil(data: bytes) -> CilDocument:
    if not data or not data.strip():
        raise CilError("the file is empty")
    text = decode_upload(data)
    # decode_upload gives text; an XML declaration naming another encoding is dropped with it.
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise CilError(
            f"the file declares a DTD or entities ({type(exc).__name__}); VAMT files have none"
        ) from None
    except ParseError as exc:
        raise CilError(f"not well-formed XML ({exc})") from None
    if _local(root.tag) != "softwarelicensingdata":
        raise CilError(
            f"not a VAMT Computer Information List: the root element is <{_local(root.tag)[:40]}>, "
            "not <SoftwareLicensingData>"
        )
    version = root.attrib.get("Version") or root.attrib.get("version")
    keys = sum(len(_children(el, "productkey")) for el in _children(root, "productkeys"))
    computers: list[CilComputer] = []
    total = 0
    for c_idx, comp in enumerate(
        c for el in _children(root, "computers") for c in _children(el, "computer")
    ):
        where = f"computer {c_idx + 1}"
        cf = _fields(comp)
        name = _value(cf, "Name")
        network_type = (_value(cf, "NetworkType") or "").lower()
        network_name = _value(cf, "NetworkName")
        fqdn = _value(cf, "Fqdn", "FullyQualifiedDomainName", "DnsName")
        if name and "." in name:
            fqdn = fqdn or name
        elif name and network_type == "domain" and network_name and "." in network_name:
            fqdn = fqdn or f"{name}.{network_name}"
        products: list[CilProduct] = []
        for p_idx, prod in enumerate(
            p for el in _children(comp, "products") for p in _children(el, "product")
        ):
            pwhere = f"{where}, product {p_idx + 1}"
            pf = _fields(prod)
            sku = _child(prod, "sku")
            sf = _fields(sku) if sku is not None else pf
            sku_raw = _value(sf, "Id", "SkuId")
            sku_id = None
            if sku_raw:
                m = _GUID.match(sku_raw)
                if not m:
                    raise CilError(f"{pwhere}: the SKU id is not a GUID")
                sku_id = m.group(1).lower()
            last5 = _value(pf, "PartialProductKey", "PartialKey", "LastFiveCharacters")
            if last5 is not None:
                last5 = last5.upper()[-5:]
                if not _LAST5.match(last5):
                    raise CilError(f"{pwhere}: the partial product key is not five characters")
            products.append(
                CilProduct(
                    sku_id=sku_id,
                    sku_name=_value(sf, "Name", "SkuName"),
                    application_id=_value(sf, "ApplicationId"),
                    license_status=_status(_value(pf, "LicenseStatus", "LicenseState"), pwhere),
                    last5=last5,
                    kms_host=_value(pf, "KmsHost", "KmsHostName", "KeyManagementServiceMachine"),
                    installation_id=_digits(
                        _value(pf, "InstallationId", "OfflineInstallationId"),
                        "Installation ID",
                        pwhere,
                    ),
                    confirmation_id=_digits(
                        _value(pf, "ConfirmationId"), "Confirmation ID", pwhere
                    ),
                    key_type=_value(pf, "ProductKeyType", "KeyType", "LicenseChannel"),
                )
            )
        total += len(products)
        computers.append(
            CilComputer(
                name=name,
                fqdn=fqdn.lower().rstrip(".") if fqdn else None,
                vamt_id=_value(cf, "Id"),
                products=tuple(products),
            )
        )
    return CilDocument(
        version=version, computers=tuple(computers), product_keys=keys, products=total
    )
