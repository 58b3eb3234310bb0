"""Forms of the KMS area. They check types and sizes; the rules live in services/kms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from licensing.models import DEFAULT_KMS_PORT, KmsProductGroup
from licensing.probes import parse_resolver
from licensing.services.errors import InvalidInput
from licensing.services.kms import hosts


class HostForm(forms.Form):
    fqdn = forms.CharField(
        label=_("FQDN"),
        max_length=253,
        help_text=_("The host's fully qualified DNS name, as its SRV record names it."),
    )
    port = forms.IntegerField(
        label=_("Port"),
        min_value=1,
        max_value=65535,
        initial=DEFAULT_KMS_PORT,
        help_text=_("1688 unless changed."),
    )
    product_group = forms.ChoiceField(
        label=_("KMS host key for"),
        choices=KmsProductGroup.choices,
        initial=KmsProductGroup.OFFICE_2024,
    )
    host_key = forms.CharField(
        label=_("Host key (CSVLK)"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Optional. Stored encrypted; shown masked; revealing it is audited."),
    )
    activation_threshold = forms.IntegerField(
        label=_("Activation threshold"),
        min_value=1,
        max_value=50,
        initial=5,
        help_text=_("5 for Office (and Windows Server)."),
    )
    poll_interval_minutes = forms.IntegerField(
        label=_("Poll every (minutes)"), min_value=1, max_value=1440, initial=15
    )


class ReporterTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"), max_length=100, initial=_("slmgr /dlv scheduled task")
    )
    days = forms.IntegerField(label=_("Valid (days)"), min_value=1, max_value=365, initial=365)

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # The host page shows this form beside the report upload: ids of their own.
        kwargs.setdefault("auto_id", "id_token_%s")
        super().__init__(*args, **kwargs)


class HostKeyRevealForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ReportUploadForm(forms.Form):
    text = forms.CharField(
        label=_("Output of slmgr.vbs /dlv"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "font-monospace"}),
        max_length=512 * 1024,
    )


class DnsSettingsForm(forms.Form):
    dns_domains = forms.CharField(
        label=_("DNS domains"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "font-monospace"}),
        help_text=_("One per line. The portal reads _vlmcs._tcp.<domain> in each."),
    )
    dns_resolvers = forms.CharField(
        label=_("DNS resolvers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "font-monospace"}),
        help_text=_("One IP (or IP:port) per line; empty = the portal server's own resolvers."),
    )

    def clean_dns_domains(self) -> list[str]:
        domains = []
        for line in self.cleaned_data["dns_domains"].split():
            try:
                domains.append(hosts.normalise_fqdn(line))
            except InvalidInput as exc:
                raise forms.ValidationError(exc.field_errors["fqdn"]) from None
        return list(dict.fromkeys(domains))

    def clean_dns_resolvers(self) -> list[str]:
        resolvers = []
        for line in self.cleaned_data["dns_resolvers"].split():
            try:
                parse_resolver(line)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
            resolvers.append(line)
        return resolvers
