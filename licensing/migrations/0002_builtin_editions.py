"""Load Microsoft's public GVLKs (shared DOMAIN.md section 8) as the built-in edition catalogue.

SKU ids are filled only where real ospp.vbs output confirmed them (DOMAIN.md 4.1); the rest stay
empty until an admin or a parsed status report supplies them.
"""

from django.db import migrations

# (version, product, name, gvlk, sku_id)
EDITIONS = [
    (
        "2024",
        "proplus",
        "Office LTSC Professional Plus 2024",
        "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB",
        "8d368fc1-9470-4be2-8d66-90e836cbb051",
    ),
    ("2024", "standard", "Office LTSC Standard 2024", "V28N4-JG22K-W66P8-VTMGK-H6HGR", None),
    ("2024", "project_pro", "Project Professional 2024", "FQQ23-N4YCY-73HQ3-FM9WC-76HF4", None),
    ("2024", "project_std", "Project Standard 2024", "PD3TT-NTHQQ-VC7CY-MFXK3-G87F8", None),
    ("2024", "visio_pro", "Visio LTSC Professional 2024", "B7TN8-FJ8V3-7QYCP-HQPMV-YY89G", None),
    (
        "2024",
        "visio_std",
        "Visio LTSC Standard 2024",
        "JMMVY-XFNQC-KK4HK-9H7R3-WQQTV",
        "923fa470-aa71-4b8b-b35c-36b79bf9f44b",
    ),
    (
        "2021",
        "proplus",
        "Office LTSC Professional Plus 2021",
        "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH",
        "fbdb3e18-a8ef-4fb3-9183-dffd60bd0984",
    ),
    ("2021", "standard", "Office LTSC Standard 2021", "KDX7X-BNVR8-TXXGX-4Q7Y8-78VT3", None),
    ("2021", "project_pro", "Project Professional 2021", "FTNWT-C6WBT-8HMGF-K9PRX-QV9H8", None),
    ("2021", "project_std", "Project Standard 2021", "J2JDC-NJCYY-9RGQ4-YXWMH-T3D4T", None),
    ("2021", "visio_pro", "Visio LTSC Professional 2021", "KNH8D-FGHT4-T8RK3-CTDYJ-K2HT4", None),
    ("2021", "visio_std", "Visio LTSC Standard 2021", "MJVNY-BYWPY-CWV6J-2RKRT-4M8QG", None),
    (
        "2019",
        "proplus",
        "Office Professional Plus 2019",
        "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP",
        "85dd8b5f-eaa4-4af3-a628-cce9e77c9a03",
    ),
    ("2019", "standard", "Office Standard 2019", "6NWWJ-YQWMR-QKGCB-6TMB3-9D9HK", None),
    ("2019", "project_pro", "Project Professional 2019", "B4NPR-3FKK7-T2MBV-FRQ4W-PKD2B", None),
    ("2019", "project_std", "Project Standard 2019", "C4F7P-NCP8C-6CQPT-MQHV9-JXD2M", None),
    ("2019", "visio_pro", "Visio Professional 2019", "9BGNQ-K37YR-RQHF2-38RQ3-7VCBB", None),
    ("2019", "visio_std", "Visio Standard 2019", "7TQNQ-K3YQQ-3PFH7-CCPPM-X4VQ2", None),
    ("2016", "proplus", "Office Professional Plus 2016", "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99", None),
    ("2016", "standard", "Office Standard 2016", "JNRGM-WHDWX-FJJG3-K47QV-DRTFM", None),
    ("2016", "project_pro", "Project Professional 2016", "YG9NW-3K39V-2T3HJ-93F3Q-G83KT", None),
    ("2016", "project_std", "Project Standard 2016", "GNFHQ-F6YQM-KQDGJ-327XX-KQBVC", None),
    ("2016", "visio_pro", "Visio Professional 2016", "PD3PC-RHNGV-FXJ29-8JK7D-RJRJK", None),
    ("2016", "visio_std", "Visio Standard 2016", "7WHWN-4T7MP-G96JF-G33KR-W8GF4", None),
    # Office 2013: from a third-party compilation corroborated by real "Last 5" lines (DOMAIN.md 8).
    (
        "2013",
        "proplus",
        "Office Professional Plus 2013",
        "YC7DK-G2NP3-2QQC3-J6H88-GVGXT",
        "b322da9c-a2e2-4058-9e4e-f59a6970bd69",
    ),
    ("2013", "standard", "Office Standard 2013", "KBKQT-2NMXY-JJWGP-M62JB-92CD4", None),
    ("2013", "project_pro", "Project Professional 2013", "FN8TT-7WMH6-2D4X9-M337T-2342K", None),
    ("2013", "project_std", "Project Standard 2013", "6NTH3-CW976-3G3Y2-JK3TX-8QHTT", None),
    ("2013", "visio_pro", "Visio Professional 2013", "C2FG9-N6J68-H8BTJ-BW3QX-RM3B3", None),
    ("2013", "visio_std", "Visio Standard 2013", "J484Y-4NKBF-W2HMG-DBMJC-PGWR7", None),
]


def load(apps, schema_editor):
    Edition = apps.get_model("licensing", "Edition")
    for version, product, name, gvlk, sku_id in EDITIONS:
        Edition.objects.update_or_create(
            gvlk=gvlk,
            defaults={
                "name": name,
                "version": version,
                "product": product,
                "sku_id": sku_id,
                "kms_product_group": f"office_{version}",
                "is_builtin": True,
            },
        )


def unload(apps, schema_editor):
    apps.get_model("licensing", "Edition").objects.filter(
        is_builtin=True, clients__isnull=True, mak_pools__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("licensing", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
