"""WMI licence objects as `Get-CimInstance SoftwareLicensingProduct | ConvertTo-Json` writes
them (Windows PowerShell 5.1: dates as "/Date(ms)/", uint32 and enums as numbers, the CIM
bookkeeping properties alongside), built from the documented properties of the class."""

from __future__ import annotations

import copy

OFFICE_APP = "0ff1ce15-a989-479d-af46-f275c6370663"
WINDOWS_APP = "55c92734-d682-4d71-983e-d6ec3f16059f"

OFFICE_KMS = {
    "ApplicationID": OFFICE_APP,
    "Description": "Office 24, VOLUME_KMSCLIENT channel",
    "EvaluationEndDate": "/Date(-11644473600000)/",
    "GracePeriodRemaining": 244800,
    "ID": "8d368fc1-9470-4be2-8d66-90e836cbb051",
    "KeyManagementServiceMachine": "",
    "KeyManagementServicePort": 0,
    "DiscoveredKeyManagementServiceMachineName": "kms01.contoso.test",
    "DiscoveredKeyManagementServiceMachinePort": 1688,
    "LicenseFamily": "Office24ProPlus2024VL_KMS_Client_AE",
    "LicenseStatus": 1,
    "LicenseStatusReason": 1074065472,
    "Name": "Office 24, Office24ProPlus2024VL_KMS_Client_AE edition",
    "OfflineInstallationId": "123456123456123456123456123456123456123456123456123456",
    "PartialProductKey": "GCVGB",
    "ProductKeyChannel": "Volume:GVLK",
    "TrustedTime": "/Date(1781524800000)/",
    "VLActivationInterval": 120,
    "VLRenewalInterval": 10080,
    "PSComputerName": None,
    "CimClass": "root/cimv2:SoftwareLicensingProduct",
    "CimInstanceProperties": ['ApplicationID = "0ff1ce15-..."', 'Description = "..."'],
    "CimSystemProperties": {
        "Namespace": "root/cimv2",
        "ServerName": "PC-7",
        "ClassName": "SoftwareLicensingProduct",
        "Path": None,
    },
}

# The same machine's ospp.vbs /dstatus (the KMS block: DNS auto-discovery of kms01).
OFFICE_KMS_OSPP = """---Processing--------------------------
---------------------------------------
SKU ID: 8d368fc1-9470-4be2-8d66-90e836cbb051
LICENSE NAME: Office 24, Office24ProPlus2024VL_KMS_Client_AE edition
LICENSE DESCRIPTION: Office 24, VOLUME_KMSCLIENT channel
LICENSE STATUS:  ---LICENSED---
ERROR CODE: 0x4004F040 (for information purposes only as the status is licensed)
REMAINING GRACE: 170 days  (244800 minute(s) before expiring)
Last 5 characters of installed product key: GCVGB
Activation Type Configuration: ALL
\tKMS machine name from DNS: kms01.contoso.test:1688
\tActivation Interval: 120 minutes
\tRenewal Interval: 10080 minutes
\tKMS host caching: Enabled
---------------------------------------
---Exiting-----------------------------
"""

WINDOWS = {
    "ApplicationID": WINDOWS_APP,
    "Description": "Windows(R) Operating System, VOLUME_KMSCLIENT channel",
    "ID": "2de67392-b7a7-462a-b1ca-108dd189f588",
    "LicenseStatus": 1,
    "Name": "Windows(R), Professional edition",
    "PartialProductKey": "T83GX",
    "GracePeriodRemaining": 200000,
}

# An Office 2013 MAK on Windows 7 (OfficeSoftwareProtectionProduct), not activated yet.
OFFICE_MAK_OSPP_CLASS = {
    "ApplicationId": "0ff1ce15-a989-479d-af46-f275c6370663",
    "Description": "Office 15, VOLUME_MAK channel",
    "ID": "b322da9c-a2e2-4058-9e4e-f59a6970bd69",
    "LicenseStatus": 5,
    "LicenseStatusReason": 3221549065,
    "GracePeriodRemaining": 0,
    "Name": "Office 15, OfficeProPlusVL_MAK edition",
    "OfflineInstallationId": "014436-285634-731822-914450-637126-523406-851234-110562-773981",
    "PartialProductKey": "7X3QH",
}


def office_kms(**changes):
    obj = copy.deepcopy(OFFICE_KMS)
    obj.update(changes)
    return obj
