"""WMI licence objects as `ConvertTo-Json` writes them: `Get-CimInstance SoftwareLicensingProduct`
(Windows 8+ and Office 2013+) or `OfficeSoftwareProtectionProduct` (Office 2010/2013 on
Windows 7), read into the same plain data the status-text parsers return.

    from licensing.parsers.wmi import parse_wmi_products, WmiError

    report = parse_wmi_products(products)      # a decoded JSON object or list of objects
    report.document                            # StatusDocument (format "wmi"): Office licences
                                               #   with an installed key, like ospp /dstatus
    report.installation_ids                    # {sku_id: OfflineInstallationId} (digits only)
    report.host_name                           # PSComputerName / CimSystemProperties.ServerName

Pure Python, no Django. The shapes `ConvertTo-Json` writes are accepted: one object or an
array; dates as `"/Date(1732406400000)/"` (Windows PowerShell 5.1), ISO 8601 (PowerShell 7) or
an object with a `value` (a date that went through the extended type system); enums and
uint32 as numbers. Unknown properties (CimClass, CimInstanceProperties, ...) are ignored and
missing ones are None. A property of the wrong type raises WmiError naming it; so does a report
without any Office licence (ApplicationID 0ff1ce15-/0ff1ce16-a989-479d-af46-f275c6370663).

`LicenseStatus` uses the WMI numbering 0..6 (DOMAIN.md section 6); another number is "unknown"
(ospp's `---UNKNOWN---`). `GracePeriodRemaining` 0 is "no remaining grace printed" (None), as
ospp.vbs prints REMAINING GRACE only when it is not 0. A licence whose description says KMS
gets a KMS client block: the registry override `KeyManagementServiceMachine` if set, else the
host found in DNS (`DiscoveredKeyManagementServiceMachineName`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from licensing.parsers.model import (
    STATUS_BY_CODE,
    KmsClientInfo,
    LicenseRecord,
    StatusDocument,
)

# Office's SPP application id (ospp.vbs `OfficeAppId`); Microsoft's own pages print 0ff1ce15
# and 0ff1ce16 (DOMAIN.md section 2.4), so the first group's last digit is not compared.
_OFFICE_APP = re.compile(r"^\{?0ff1ce1[0-9a-f]-a989-479d-af46-f275c6370663\}?$", re.IGNORECASE)
_GUID = re.compile(
    r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$"
)
_MS_DATE = re.compile(r"^/Date\((-?\d{1,15})([+-]\d{4})?\)/$")
_LAST5 = re.compile(r"^[A-Z0-9]{5}$")
_UINT32 = 0xFFFFFFFF
MAX_PRODUCTS = 500


class WmiError(ValueError):
    """The report cannot be read; `reason` names the property and the problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WmiReport:
    document: StatusDocument
    installation_ids: dict[str, str] = field(default_factory=dict)
    host_name: str | None = None


def is_office_application(value: Any) -> bool:
    return isinstance(value, str) and bool(_OFFICE_APP.match(value.strip()))


def _where(i: int, name: str) -> str:
    return f"products[{i}].{name}"


def _int(obj: Mapping[str, Any], name: str, i: int) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WmiError(
            f"{_where(i, name)}: expected a number, got {type(value).__name__} {str(value)[:30]!r}"
        )
    if isinstance(value, float):
        if not value.is_integer():
            raise WmiError(f"{_where(i, name)}: expected a whole number, got {value}")
        value = int(value)
    if not -(2**31) <= value <= _UINT32:
        raise WmiError(f"{_where(i, name)}: {value} is out of range for a 32-bit number")
    return value


def _str(obj: Mapping[str, Any], name: str, i: int) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise WmiError(f"{_where(i, name)}: expected text, got {type(value).__name__}")
    value = value.replace("\x00", "").strip()
    return value or None


def parse_wmi_date(value: Any, where: str = "date") -> datetime | None:
    """A date as ConvertTo-Json writes it: "/Date(ms)/" (5.1), ISO 8601 (7), or an object with
    a `value` holding either; None for null. Naive ISO times are UTC."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        if "value" not in value:
            raise WmiError(f"{where}: a date object without 'value'")
        return parse_wmi_date(value["value"], where)
    if not isinstance(value, str):
        raise WmiError(f"{where}: expected a date, got {type(value).__name__}")
    text = value.strip().replace("\\/", "/")
    m = _MS_DATE.match(text)
    if m:
        try:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(m.group(1)))
        except OverflowError:
            raise WmiError(f"{where}: {text[:40]} is out of range") from None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise WmiError(f"{where}: {text[:40]!r} is not a date (/Date(ms)/ or ISO 8601)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _product_list(data: Any) -> list[Mapping[str, Any]]:
    items = [data] if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise WmiError("products: expected a JSON object or a list of objects")
    if len(items) > MAX_PRODUCTS:
        raise WmiError(f"products: at most {MAX_PRODUCTS} objects, got {len(items)}")
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise WmiError(f"products[{i}]: expected an object, got {type(item).__name__}")
    return items


def _host_name(obj: Mapping[str, Any]) -> str | None:
    name = obj.get("PSComputerName")
    if not isinstance(name, str) or not name.strip():
        system = obj.get("CimSystemProperties")
        name = system.get("ServerName") if isinstance(system, Mapping) else None
    return name.strip() if isinstance(name, str) and name.strip() else None


def parse_wmi_products(data: Any, *, cmid: str | None = None) -> WmiReport:
    """Read the Office licences with an installed key out of WMI product objects.

    `cmid` is the client machine id from the service class (`ClientMachineID`), put on the KMS
    client block of KMS licences."""
    items = _product_list(data)
    licences: list[LicenseRecord] = []
    iids: dict[str, str] = {}
    host_name = None
    for i, obj in enumerate(items):
        # Types are checked on every object, Office or not: a broken agent is told so.
        app = _str(obj, "ApplicationID", i) or _str(obj, "ApplicationId", i)
        sku = _str(obj, "ID", i)
        name = _str(obj, "Name", i)
        description = _str(obj, "Description", i)
        status = _int(obj, "LicenseStatus", i)
        reason = _int(obj, "LicenseStatusReason", i)
        grace = _int(obj, "GracePeriodRemaining", i)
        partial = _str(obj, "PartialProductKey", i)
        iid = _str(obj, "OfflineInstallationId", i)
        kms_name = _str(obj, "KeyManagementServiceMachine", i)
        kms_port = _int(obj, "KeyManagementServicePort", i)
        dns_name = _str(obj, "DiscoveredKeyManagementServiceMachineName", i)
        dns_port = _int(obj, "DiscoveredKeyManagementServiceMachinePort", i)
        act_interval = _int(obj, "VLActivationInterval", i)
        ren_interval = _int(obj, "VLRenewalInterval", i)
        parse_wmi_date(obj.get("EvaluationEndDate"), _where(i, "EvaluationEndDate"))
        host_name = host_name or _host_name(obj)
        if not is_office_application(app):
            continue
        if partial is None:  # no installed key: ospp.vbs /dstatus leaves it out too
            continue
        sku_id = None
        if sku is not None:
            m = _GUID.match(sku)
            if not m:
                raise WmiError(f"{_where(i, 'ID')}: {sku[:40]!r} is not a GUID")
            sku_id = m.group(1).lower()
        last5 = partial.upper()
        if not _LAST5.match(last5):
            raise WmiError(f"{_where(i, 'PartialProductKey')}: not five letters or digits")
        if grace is not None and grace < 0:
            raise WmiError(f"{_where(i, 'GracePeriodRemaining')}: {grace} is negative")
        kms_client = None
        if "KMS" in (description or "").upper():
            host, port = (kms_name, kms_port) if kms_name else (dns_name, dns_port)
            kms_client = KmsClientInfo(
                cmid=cmid,
                kms_host=host.lower() if host else None,
                kms_port=port if host and port else None,
                activation_interval_minutes=act_interval,
                renewal_interval_minutes=ren_interval,
            )
        licences.append(
            LicenseRecord(
                name=name,
                description=description,
                sku_id=sku_id,
                status=STATUS_BY_CODE.get(status) if status is not None else None,
                error_code=f"0x{reason & _UINT32:08X}" if reason else None,
                grace_minutes=grace or None,
                last5=last5,
                kms_client=kms_client,
            )
        )
        if iid:
            digits = re.sub(r"[\s-]", "", iid)
            if not digits.isdigit():
                raise WmiError(f"{_where(i, 'OfflineInstallationId')}: not digits")
            if sku_id:
                iids[sku_id] = digits
    if not licences:
        raise WmiError(
            "no Office licence with an installed key in the report "
            "(ApplicationID 0ff1ce15-a989-479d-af46-f275c6370663 and a PartialProductKey)"
        )
    return WmiReport(
        document=StatusDocument(format="wmi", licenses=tuple(licences)),
        installation_ids=iids,
        host_name=host_name,
    )


def parse_cmid(value: Any) -> str | None:
    """`ClientMachineID` of the service class: a GUID, or None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise WmiError(f"service.ClientMachineID: expected text, got {type(value).__name__}")
    m = _GUID.match(value.strip())
    if not m:
        raise WmiError(f"service.ClientMachineID: {value[:40]!r} is not a GUID")
    return m.group(1).lower()
