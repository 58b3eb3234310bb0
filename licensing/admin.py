"""Django admin for superusers. Secrets are never shown or editable here: keys go through the
portal's services, which encrypt, fingerprint and audit them."""

from typing import Any

from django.contrib import admin

from licensing import models as m
from licensing.services import audit


class AuditedAdmin(admin.ModelAdmin):
    """Edits made in the admin bypass services, so record them in the audit trail here."""

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit.record(
            action=f"admin.{obj._meta.model_name}.{'change' if change else 'add'}",
            actor=request.user,
            organisation=getattr(obj, "organisation_id", None),
            obj=obj,
            changes={"fields": sorted(form.changed_data)},
            ip_address=audit.client_ip(request),
        )

    def delete_model(self, request: Any, obj: Any) -> None:
        audit.record(
            action=f"admin.{obj._meta.model_name}.delete",
            actor=request.user,
            organisation=getattr(obj, "organisation_id", None),
            obj=obj,
            ip_address=audit.client_ip(request),
        )
        super().delete_model(request, obj)


class MembershipInline(admin.TabularInline):
    model = m.Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(m.Organisation)
class OrganisationAdmin(AuditedAdmin):
    list_display = ["name", "slug", "at_risk_days", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(m.Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ["user", "organisation", "role"]
    list_filter = ["role", "organisation"]
    search_fields = ["user__username", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]


@admin.register(m.Edition)
class EditionAdmin(AuditedAdmin):
    list_display = [
        "name",
        "version",
        "product",
        "gvlk",
        "sku_id",
        "kms_product_group",
        "is_builtin",
    ]
    list_filter = ["version", "product", "is_builtin"]
    search_fields = ["name", "gvlk"]


@admin.register(m.MakPool)
class MakPoolAdmin(AuditedAdmin):
    list_display = ["organisation", "edition", "low_water_mark"]
    list_filter = ["organisation"]


@admin.register(m.MakKey)
class MakKeyAdmin(admin.ModelAdmin):
    list_display = ["masked", "pool", "activation_limit", "activations_used", "status"]
    list_filter = ["status"]
    readonly_fields = [
        "pool",
        "last5",
        "activation_limit",
        "activations_used",
        "status",
        "created_at",
    ]
    exclude = ["ciphertext", "fingerprint"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # keys are added through the portal, which encrypts and audits them

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(m.KmsHost)
class KmsHostAdmin(AuditedAdmin):
    list_display = [
        "fqdn",
        "organisation",
        "port",
        "product_group",
        "state",
        "current_count",
        "next_poll_at",
    ]
    list_filter = ["state", "product_group", "organisation"]
    search_fields = ["fqdn"]
    readonly_fields = [
        "host_key_last5",
        "state",
        "current_count",
        "last_polled_at",
        "last_report_at",
    ]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list[str]:
        # A host never moves between organisations: its reporter tokens, polls and reports
        # belong to the organisation it was registered in.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "organisation"] if obj is not None else fields


@admin.register(m.Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = [
        "hostname",
        "organisation",
        "edition",
        "activation_method",
        "license_status",
        "compliance_flag",
    ]
    list_filter = ["compliance_flag", "activation_method"]
    search_fields = ["=hostname", "=cmid"]
    show_full_result_count = False  # no COUNT(*) over a million rows
    raw_id_fields = ["kms_host", "mak_key", "edition"]


@admin.register(m.ActivationRequest)
class ActivationRequestAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "pool",
        "quantity",
        "status",
        "requested_by",
        "decided_by",
        "requested_at",
    ]
    list_filter = ["status"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # requests are made through the portal (a row born decided skips four eyes)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # decisions go through the approval services (four eyes, exactly once)


@admin.register(m.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_label", "action", "object_repr", "organisation"]
    list_filter = ["action"]
    search_fields = ["actor_label", "object_repr"]
    show_full_result_count = False

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(m.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "scope", "prefix", "expires_at", "revoked_at"]
    exclude = ["digest"]
    readonly_fields = [
        "prefix",
        "scope",
        "user",
        "kms_host",
        "organisation",
        "created_at",
        "expires_at",
        "last_used_at",
    ]

    def has_add_permission(self, request: Any) -> bool:
        return False
